// KvCache's layout: what `store` writes for a (slot, layer, position) comes back through
// keys/values(slot, layer, head) at position x head width, in f32 and in f16, without one cell's
// write landing in another's (every cell of a small cache written with its own values, then all
// read back), and one head's positions are contiguous.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/half.h"
#include "model/kv_cache.h"

namespace kaiyuan {
namespace {

constexpr int64_t kLayers = 3, kCtx = 5, kSlots = 2, kHeads = 4, kKHead = 8, kVHead = 6;

// Distinct small integers (exact in f16) for element i of head h of a cell's K or V row.
float cell_value(int64_t slot, int64_t layer, int64_t pos, int64_t h, int64_t i, bool value) {
  return static_cast<float>(((((slot * kLayers + layer) * kCtx + pos) * kHeads + h) * 8 + i % 8) * (value ? -1 : 1));
}

float read(const KvCache& c, bool value, int64_t slot, int64_t layer, int64_t h, int64_t pos, int64_t i) {
  const int64_t w = value ? c.v_head_dim() : c.k_head_dim();
  const size_t at = static_cast<size_t>(pos * w + i);
  if (c.type() == KvType::kF32) return (value ? c.values(slot, layer, h) : c.keys(slot, layer, h))[at];
  return f16_to_f32((value ? c.values16(slot, layer, h) : c.keys16(slot, layer, h))[at]);
}

void check_round_trip(KvType type) {
  auto made = KvCache::create(kLayers, kHeads * kKHead, kHeads * kVHead, kCtx, kSlots, type, kHeads);
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  KvCache& c = *made;
  ASSERT_EQ(c.k_head_dim(), kKHead);
  ASSERT_EQ(c.v_head_dim(), kVHead);
  std::vector<float> k(kHeads * kKHead), v(kHeads * kVHead);
  for (int64_t s = 0; s < kSlots; ++s)
    for (int64_t l = 0; l < kLayers; ++l)
      for (int64_t p = 0; p < kCtx; ++p) {
        for (int64_t h = 0; h < kHeads; ++h) {
          for (int64_t i = 0; i < kKHead; ++i) k[h * kKHead + i] = cell_value(s, l, p, h, i, false);
          for (int64_t i = 0; i < kVHead; ++i) v[h * kVHead + i] = cell_value(s, l, p, h, i, true);
        }
        c.store(s, l, p, k.data(), v.data());
      }
  for (int64_t s = 0; s < kSlots; ++s)
    for (int64_t l = 0; l < kLayers; ++l)
      for (int64_t p = 0; p < kCtx; ++p)
        for (int64_t h = 0; h < kHeads; ++h) {
          for (int64_t i = 0; i < kKHead; ++i)
            ASSERT_EQ(read(c, false, s, l, h, p, i), cell_value(s, l, p, h, i, false)) << s << l << p << h << i;
          for (int64_t i = 0; i < kVHead; ++i)
            ASSERT_EQ(read(c, true, s, l, h, p, i), cell_value(s, l, p, h, i, true)) << s << l << p << h << i;
        }
  // One head's positions one after another: the next head starts n_ctx positions on.
  if (type == KvType::kF32) {
    EXPECT_EQ(c.keys(1, 2, 3) - c.keys(1, 2, 2), kCtx * kKHead);
    EXPECT_EQ(c.values(1, 2, 1) - c.values(1, 2, 0), kCtx * kVHead);
  }
}

TEST(KvCache, StoredRowsComeBackPerHeadInF32) { check_round_trip(KvType::kF32); }
TEST(KvCache, StoredRowsComeBackPerHeadInF16) { check_round_trip(KvType::kF16); }

TEST(KvCache, RefusesWidthsThatDoNotSplitIntoTheHeads) {
  auto bad = KvCache::create(2, 30, 32, 8, 1, KvType::kF32, 4);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("split evenly into 4 heads"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(KvCache::create(2, 32, 32, 8, 1, KvType::kF32, 0).is_ok());
}

}  // namespace
}  // namespace kaiyuan
