// The f16 KV cache against the f32 one on a real architecture's fixture (Qwen3: GQA, head_dim
// 128, q/k norms): the same logits within what rounding K and V to half precision allows, at
// every position of a prompt fed in one batch and then token by token.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/batch.h"
#include "model/model.h"
#include "test_support.h"

namespace kaiyuan {
namespace {

std::vector<float> run(Model& m, KvType type, const std::vector<int32_t>& ids) {
  auto cache = m.create_cache(64, 2, type);
  EXPECT_TRUE(cache.is_ok());
  EXPECT_EQ(cache->type(), type);
  std::vector<float> all, logits;
  // The first half as one batch in slot 1, the rest one token at a time (decode reads the cache).
  const size_t half = ids.size() / 2;
  Batch b;
  for (size_t i = 0; i < half; ++i) b.add(ids[i], static_cast<int32_t>(i), 1, true);
  EXPECT_TRUE(m.forward(b, *cache, logits).is_ok());
  all = logits;
  for (size_t i = half; i < ids.size(); ++i) {
    b.clear();
    b.add(ids[i], static_cast<int32_t>(i), 1, true);
    EXPECT_TRUE(m.forward(b, *cache, logits).is_ok());
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

TEST(KvCacheF16, LogitsStayCloseToTheF32Cache) {
  auto loaded = load_model(test::fixture_path("arch/qwen3/model-f32.gguf"));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  Model& m = *loaded->model;
  std::vector<int32_t> ids;
  for (int i = 0; i < 24; ++i) ids.push_back((i * 37 + 11) % static_cast<int32_t>(m.spec().n_vocab));
  const std::vector<float> f32 = run(m, KvType::kF32, ids);
  const std::vector<float> f16 = run(m, KvType::kF16, ids);
  ASSERT_EQ(f32.size(), f16.size());
  float max_abs = 0.0f, max_diff = 0.0f;
  for (size_t i = 0; i < f32.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(f32[i]));
    max_diff = std::max(max_diff, std::fabs(f32[i] - f16[i]));
  }
  EXPECT_GT(max_diff, 0.0f) << "the f16 cache should round something";
  RecordProperty("max_diff_over_max_logit", std::to_string(max_diff / max_abs));
  EXPECT_LT(max_diff, 2e-3f * max_abs) << "max |f16 - f32| " << max_diff << " vs max |logit| " << max_abs;
}

TEST(KvCacheF16, HalfTheBytesAndMlaStaysF32) {
  auto f32 = KvCache::create(2, 64, 64, 16, 3, KvType::kF32);
  auto f16 = KvCache::create(2, 64, 64, 16, 3, KvType::kF16);
  ASSERT_TRUE(f32.is_ok() && f16.is_ok());
  EXPECT_EQ(f16->bytes() * 2, f32->bytes());
  EXPECT_EQ(parse_kv_type("f16"), KvType::kF16);
  EXPECT_EQ(parse_kv_type("q8_0"), std::nullopt);
  auto mla = load_model(test::fixture_path("arch/deepseek_v3/model-q8_0.gguf"));
  ASSERT_TRUE(mla.is_ok()) << mla.status().message();
  auto cache = mla->model->create_cache(16, 1, KvType::kF16);
  ASSERT_TRUE(cache.is_ok());
  EXPECT_EQ(cache->type(), KvType::kF32);
}

}  // namespace
}  // namespace kaiyuan
