// Fuzzes encode/decode and the streaming decoder with real tokenizers loaded once from the
// fixtures: Qwen3's tokenizer.json (byte-level BPE, NFC, added tokens) and stories260K's GGUF
// SentencePiece vocabulary. $KAIYUAN_FIXTURES overrides the fixture folder.
// Input: byte 0 picks the tokenizer and options; the rest is text to encode, and (read as int32
// ids, any value) a sequence to decode and to stream.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "format/gguf.h"
#include "fuzz_util.h"
#include "tokenizer/bpe.h"
#include "tokenizer/tokenizer.h"

using namespace kaiyuan;

namespace {

std::unique_ptr<Tokenizer> load_or_die(Result<std::unique_ptr<Tokenizer>> loaded, const std::string& what) {
  if (!loaded) {
    std::fprintf(stderr, "fuzz_tokenize: cannot load %s: %s (set KAIYUAN_FIXTURES)\n", what.c_str(),
                 loaded.status().message().c_str());
    std::exit(1);
  }
  return std::move(loaded).value();
}

struct Tokenizers {
  std::unique_ptr<Tokenizer> bpe, spm;
  Tokenizers() {
    const std::string dir = fuzz::fixtures_dir();
    bpe = load_or_die(load_bpe_from_tokenizer_json(dir + "/tokenizers/qwen3"), "tokenizers/qwen3/tokenizer.json");
    auto gguf = GgufFile::open(dir + "/stories260K/stories260K.gguf");
    if (!gguf) {
      std::fprintf(stderr, "fuzz_tokenize: %s (set KAIYUAN_FIXTURES)\n", gguf.status().message().c_str());
      std::exit(1);
    }
    spm = load_or_die(load_tokenizer_from_gguf(**gguf), "stories260K/stories260K.gguf");
  }
};

void check_stream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  StreamingDecoder stream(tok, skip_special);
  const size_t n_prime = ids.empty() ? 0 : ids.size() % 3;
  stream.prime(std::span<const int32_t>(ids.data(), n_prime));
  std::string streamed;
  for (size_t i = n_prime; i < ids.size(); ++i) streamed += stream.push(ids[i]);
  streamed += stream.flush();
  (void)streamed;
}

const Tokenizers* g_tokenizers = nullptr;

}  // namespace

// Loading Qwen3's tokenizer takes seconds under ASan; done here it does not count against the first
// input's -timeout (it did when the load ran lazily inside the first call).
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  g_tokenizers = new Tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizers& tokenizers = *g_tokenizers;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const Tokenizer& tok = (mode & 1) ? *tokenizers.spm : *tokenizers.bpe;
  const EncodeOptions options{(mode & 2) != 0, (mode & 4) != 0};
  const bool skip_special = (mode & 8) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const std::vector<int32_t> ids = tok.encode(text, options);
  for (int32_t id : ids) KY_FUZZ_CHECK(id >= 0 && id < tok.n_vocab(), "encode returns ids inside the vocabulary");
  (void)tok.decode(ids, skip_special);
  check_stream(tok, ids, skip_special);

  // The same bytes as arbitrary ids (negative and out-of-vocabulary ones included).
  std::vector<int32_t> raw_ids((size - 1) / 4);
  if (!raw_ids.empty()) std::memcpy(raw_ids.data(), data + 1, raw_ids.size() * 4);
  (void)tok.decode(raw_ids, skip_special);
  check_stream(tok, raw_ids, skip_special);
  for (int32_t id : raw_ids) {
    (void)tok.token_bytes(id);
    (void)tok.token_string(id);
  }
  return 0;
}
