// Shared by the golden tests: logits comparison and greedy decoding straight through Model.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/model.h"

namespace kaiyuan::test {

inline float max_abs(const std::vector<float>& v) {
  float m = 0.0f;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// max |a - b| over two equally sized arrays.
inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

inline int32_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return static_cast<int32_t>(best);
}

// Gap between the best and second-best logit.
inline float top2_margin(const float* x, int64_t n) {
  float a = -INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] > a) {
      b = a;
      a = x[i];
    } else if (x[i] > b) {
      b = x[i];
    }
  }
  return a - b;
}

// All-position logits of one forward pass over `ids`.
inline std::vector<float> forward_all(Model& model, const std::vector<int32_t>& ids) {
  auto cache = model.create_cache(static_cast<int64_t>(ids.size()) + 1, 1);
  EXPECT_TRUE(cache.is_ok()) << cache.status().message();
  Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], static_cast<int32_t>(i), 0, true);
  std::vector<float> logits;
  Status st = model.forward(batch, *cache, logits);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return logits;
}

struct GreedyStep {
  int32_t id;
  float margin;  // top-1 / top-2 gap of our logits at this step
};

// Prompt as one batch, then n greedy tokens fed back one at a time (EOS does not stop it).
inline std::vector<GreedyStep> greedy(Model& model, const std::vector<int32_t>& prompt, int n) {
  const int64_t n_vocab = model.spec().n_vocab;
  auto cache = model.create_cache(static_cast<int64_t>(prompt.size()) + n + 1, 1);
  EXPECT_TRUE(cache.is_ok());
  Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) batch.add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  std::vector<float> logits;
  std::vector<GreedyStep> out;
  int32_t pos = static_cast<int32_t>(prompt.size());
  for (int step = 0; step < n; ++step) {
    Status st = model.forward(batch, *cache, logits);
    EXPECT_TRUE(st.is_ok()) << st.message();
    if (!st.is_ok()) break;
    const int32_t id = argmax(logits.data(), n_vocab);
    out.push_back({id, top2_margin(logits.data(), n_vocab)});
    batch.clear();
    batch.add(id, pos++, 0, true);
  }
  return out;
}

}  // namespace kaiyuan::test
