#include "core/dtype.h"

#include <array>

namespace kaiyuan {
namespace {

struct Entry {
  uint32_t id;
  DTypeTraits traits;
};

// Block layouts from ggml (ggml-common.h): QK4_0 = QK8_0 = 32, QK_K = 256.
constexpr std::array<Entry, 20> kTable = {{
    {0, {"f32", 1, 4, true}},
    {1, {"f16", 1, 2, true}},
    {2, {"q4_0", 32, 18, true}},
    {3, {"q4_1", 32, 20, true}},
    {6, {"q5_0", 32, 22, true}},
    {7, {"q5_1", 32, 24, true}},
    {8, {"q8_0", 32, 34, true}},
    {9, {"q8_1", 32, 36, false}},
    {10, {"q2_K", 256, 84, false}},
    {11, {"q3_K", 256, 110, false}},
    {12, {"q4_K", 256, 144, true}},
    {13, {"q5_K", 256, 176, true}},
    {14, {"q6_K", 256, 210, true}},
    {15, {"q8_K", 256, 292, true}},
    {24, {"i8", 1, 1, false}},
    {25, {"i16", 1, 2, false}},
    {26, {"i32", 1, 4, false}},
    {27, {"i64", 1, 8, false}},
    {28, {"f64", 1, 8, false}},
    {30, {"bf16", 1, 2, true}},
}};

// Internal layouts (kernels/packed_layout.h). Bytes per block are averaged over the 16 rows of a
// repacked group, so row_bytes() x rows is still the tensor's size.
constexpr std::array<Entry, 7> kInternal = {{
    {64, {"q8_0_r16", 32, 36, true}},
    {65, {"q4_K_r16", 256, 148, true}},
    {66, {"q8_u32", 32, 36, true}},
    {67, {"q8_s32", 32, 48, true}},
    {68, {"q6_K_r16", 256, 210, true}},
    {69, {"bf16_r16", 2, 4, true}},
    {70, {"q8_s256", 256, 384, true}},
}};

}  // namespace

std::optional<DTypeTraits> dtype_traits(uint32_t id) {
  for (const Entry& e : kTable)
    if (e.id == id) return e.traits;
  return std::nullopt;
}

const DTypeTraits& dtype_traits(DType t) {
  for (const Entry& e : kTable)
    if (e.id == static_cast<uint32_t>(t)) return e.traits;
  for (const Entry& e : kInternal)
    if (e.id == static_cast<uint32_t>(t)) return e.traits;
  static const DTypeTraits kUnknown{"unknown", 1, 0, false};
  return kUnknown;
}

std::string_view dtype_name(DType t) { return dtype_traits(t).name; }

std::optional<size_t> row_bytes(DType t, int64_t n_elems) {
  const DTypeTraits& tr = dtype_traits(t);
  if (n_elems < 0 || tr.block_bytes == 0 || n_elems % tr.block_elems != 0) return std::nullopt;
  return static_cast<size_t>(n_elems / tr.block_elems) * tr.block_bytes;
}

}  // namespace kaiyuan
