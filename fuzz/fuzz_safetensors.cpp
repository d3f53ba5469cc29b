// Fuzzes the safetensors reader (header JSON, dtypes, shapes, data offsets) over arbitrary bytes:
// once as the whole file, once zero-extended to 4 MiB so headers whose offsets point past a short
// input still reach the offset/size/overlap validation.
#include <cstddef>
#include <cstdint>

#include "format/hf_folder.h"
#include "fuzz_util.h"

using kaiyuan::SafetensorsFile;

namespace {

void parse_and_walk(const uint8_t* data, size_t size) {
  auto file = SafetensorsFile::parse(data, size, "fuzz.safetensors");
  if (!file) return;
  for (const auto& t : file->tensors()) {
    KY_FUZZ_CHECK(file->find(t.name) != nullptr, "every listed tensor can be found by name");
    // Touch the first and last byte: the views must lie inside the image.
    if (t.nbytes > 0) {
      volatile uint8_t first = t.data[0];
      volatile uint8_t last = t.data[t.nbytes - 1];
      (void)first;
      (void)last;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static kaiyuan::fuzz::ZeroPaddedImage image(4u << 20);
  // Both parses read the 64-byte aligned copy, as a mapped file would be aligned.
  if (!image.load(data, size)) return -1;  // larger than any file these seeds grow into
  parse_and_walk(image.data(), size);
  parse_and_walk(image.data(), image.size());
  return 0;
}
