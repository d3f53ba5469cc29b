// Helpers shared by the fuzz targets (header-only: each target is one executable).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace kaiyuan::fuzz {

// A property the library promises; a violation aborts so libFuzzer saves the input.
#define KY_FUZZ_CHECK(cond, what)                                          \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "fuzz property violated: %s (%s)\n", what, #cond); \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

// The first NUL splits an input into two documents (e.g. config.json and generation_config.json);
// `second` is empty when there is none.
inline void split_at_nul(const uint8_t* data, size_t size, std::string_view& first, std::string_view& second) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t nul = all.find('\0');
  first = all.substr(0, nul);
  second = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
}

// Fixture folder: $KAIYUAN_FIXTURES, else ../shared/fixtures beside the repository (compiled in).
inline std::string fixtures_dir() {
  if (const char* env = std::getenv("KAIYUAN_FIXTURES"); env != nullptr && *env != '\0') return env;
  return KAIYUAN_FIXTURES_DIR;
}

// A zero-filled, 64-byte aligned buffer that holds each input followed by zeros up to a fixed
// size: the fuzzer mutates a model file's header (a few KB) while the tensor data its table points
// at exists as zeros, so inputs stay small and mutations land where the parsing happens. Only the
// bytes the previous input dirtied are cleared again.
class ZeroPaddedImage {
 public:
  explicit ZeroPaddedImage(size_t capacity)
      : capacity_(capacity), bytes_(static_cast<uint8_t*>(std::aligned_alloc(64, capacity))) {
    std::memset(bytes_, 0, capacity_);
  }
  ~ZeroPaddedImage() { std::free(bytes_); }
  ZeroPaddedImage(const ZeroPaddedImage&) = delete;
  ZeroPaddedImage& operator=(const ZeroPaddedImage&) = delete;

  // False when the input does not fit.
  bool load(const uint8_t* data, size_t size) {
    if (size > capacity_) return false;
    if (dirty_ > size) std::memset(bytes_ + size, 0, dirty_ - size);
    if (size > 0) std::memcpy(bytes_, data, size);
    dirty_ = size;
    return true;
  }
  const uint8_t* data() const { return bytes_; }
  size_t size() const { return capacity_; }

 private:
  size_t capacity_;
  uint8_t* bytes_;
  size_t dirty_ = 0;
};

}  // namespace kaiyuan::fuzz
