// Fuzzes loading a Hugging Face tokenizer.json (tokenizer/loader.cpp's tokenizer.json path:
// parse_bpe_tokenizer_json + make_bpe_tokenizer), then uses what loaded on a fixed text.
// Input: tokenizer.json bytes, optionally followed by a NUL and tokenizer_config.json bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tokenizer/tokenizer_json.h"

using namespace kaiyuan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view tokenizer_json, config_json;
  fuzz::split_at_nul(data, size, tokenizer_json, config_json);
  auto spec = parse_bpe_tokenizer_json(tokenizer_json, config_json, "tokenizer.json");
  if (!spec) return 0;
  auto tokenizer = make_bpe_tokenizer(std::move(spec).value());
  if (!tokenizer) return 0;
  const Tokenizer& tok = **tokenizer;
  const std::vector<int32_t> ids =
      tok.encode("Hello, world! <|im_start|>user\n  \xe4\xbd\xa0\xe5\xa5\xbd 12345 don't\r\n\t", EncodeOptions{true, true});
  for (int32_t id : ids) KY_FUZZ_CHECK(id >= 0 && id < tok.n_vocab(), "encode returns ids inside the vocabulary");
  (void)tok.decode(ids, /*skip_special=*/false);
  (void)tok.decode(ids, /*skip_special=*/true);
  for (int32_t id = -1; id <= tok.n_vocab() && id < 64; ++id) {
    (void)tok.token_bytes(id);
    (void)tok.token_string(id);
    (void)tok.is_special(id);
    (void)tok.is_end_of_generation(id);
  }
  return 0;
}
