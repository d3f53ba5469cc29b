// Fuzzes the GGUF reader and what `kaiyuan run` does with a GGUF file (model/loader.cpp
// load_model): metadata + tensor table -> ModelSpec -> the architecture binding its weights, plus
// the tokenizer built from tokenizer.ggml.* metadata. The parse runs twice: over the input as it
// is (truncation anywhere), and over the input zero-extended to 4 MiB, so that a mutated header
// whose tensor table points past the input still reaches spec parsing and weight binding. Seeds
// are the fixture models' headers (scripts/fuzz.sh), whose data fits in 4 MiB.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "format/gguf.h"
#include "fuzz_util.h"
#include "model/model.h"
#include "model/spec.h"
#include "tokenizer/tokenizer.h"

using namespace kaiyuan;

namespace {

void load_like_run(const uint8_t* data, size_t size) {
  auto parsed = GgufFile::parse(data, size, "fuzz.gguf");
  if (!parsed) return;
  std::shared_ptr<const GgufFile> gguf = std::move(parsed).value();
  for (const auto& [key, value] : gguf->metadata()) {
    KY_FUZZ_CHECK(gguf->get(key) != nullptr, "every metadata key can be looked up");
    (void)value.as_int();
    (void)value.as_float();
  }
  for (const TensorView& t : gguf->tensors()) {
    KY_FUZZ_CHECK(gguf->find(t.name) != nullptr, "every tensor can be found by name");
    if (t.nbytes > 0) {  // the view must lie inside the image
      volatile uint8_t first = t.data[0];
      volatile uint8_t last = t.data[t.nbytes - 1];
      (void)first;
      (void)last;
    }
  }

  auto tokenizer = load_tokenizer_from_gguf(*gguf);
  if (tokenizer) {
    const Tokenizer& tok = **tokenizer;
    const std::vector<int32_t> ids = tok.encode("Hello world, <s> 123 \xe4\xbd\xa0\xe5\xa5\xbd\n", EncodeOptions{true, true});
    for (int32_t id : ids) KY_FUZZ_CHECK(id >= 0 && id < tok.n_vocab(), "encode returns ids inside the vocabulary");
    (void)tok.decode(ids);
  }

  // load_model(), minus the file system.
  auto spec = spec_from_gguf(*gguf);
  if (!spec) return;
  const ModelFactory* factory = find_architecture(spec->arch);
  if (factory == nullptr) return;
  auto model = (*factory)(*spec, gguf);
  if (!model) return;
  (void)(*model)->create_cache(/*n_ctx=*/4, /*n_slots=*/1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ZeroPaddedImage image(4u << 20);
  // Both parses read the 64-byte aligned copy, as a mapped file would be aligned.
  if (!image.load(data, size)) return -1;  // larger than any file these seeds grow into
  load_like_run(image.data(), size);
  load_like_run(image.data(), image.size());
  return 0;
}
