// The small f32 ops of every supported ISA table (softmax, SwiGLU, RMSNorm, one-head attention)
// against their scalar reference twins (kernels/ref/), on odd lengths and wide input ranges.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/ops.h"
#include "kernels/ref/ops_ref.h"

namespace kaiyuan::kernels {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

std::vector<Isa> supported_fast_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAmx})
    if (cpu_supports(isa)) out.push_back(isa);
  return out;
}

class SmallOpsIsaTest : public ::testing::TestWithParam<Isa> {
 protected:
  const KernelTable& table() const { return kernel_table(GetParam()); }
};

TEST_P(SmallOpsIsaTest, SoftmaxMatchesReference) {
  ASSERT_NE(table().softmax, nullptr);
  for (int64_t n : {1, 7, 8, 16, 17, 33, 1000}) {
    std::vector<float> x = random_floats(static_cast<size_t>(n), 3 + static_cast<uint32_t>(n), 20.0f);
    if (n > 3) x[2] = -1e30f;  // underflows to an exact zero in both
    std::vector<float> want = x;
    ref::softmax(want.data(), n);
    table().softmax(x.data(), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(x[i], want[i], 2e-6f * want[i] + 1e-9f) << "n=" << n << " i=" << i;
  }
}

TEST_P(SmallOpsIsaTest, SwigluMatchesReference) {
  ASSERT_NE(table().swiglu, nullptr);
  for (int64_t n : {1, 9, 64, 301}) {
    const std::vector<float> g = random_floats(static_cast<size_t>(n), 11, 8.0f);
    const std::vector<float> u = random_floats(static_cast<size_t>(n), 12, 2.0f);
    std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
    ref::swiglu(g.data(), u.data(), n, want.data());
    table().swiglu(g.data(), u.data(), n, got.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(got[i], want[i], 1e-6f * std::fabs(want[i]) + 1e-7f) << i;
  }
}

TEST_P(SmallOpsIsaTest, RmsnormMatchesReference) {
  ASSERT_NE(table().rmsnorm, nullptr);
  for (int64_t n : {5, 64, 1027}) {
    const std::vector<float> x = random_floats(static_cast<size_t>(n), 21, 3.0f);
    const std::vector<float> w = random_floats(static_cast<size_t>(n), 22, 1.0f);
    for (const float* weight : {w.data(), static_cast<const float*>(nullptr)}) {
      std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
      ref::rmsnorm(x.data(), weight, n, 1e-6f, want.data());
      table().rmsnorm(x.data(), weight, n, 1e-6f, got.data());
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(got[i], want[i], 1e-5f * std::fabs(want[i]) + 1e-7f) << i;
    }
  }
}

// Groups of 1-5 heads sharing K/V (the kernels pair heads), head sizes with and without a
// specialised kernel, key counts around the 4- and 8-key unrolls.
TEST_P(SmallOpsIsaTest, AttendHeadsMatchesReference) {
  ASSERT_NE(table().attend_heads, nullptr);
  for (int64_t head_dim : {64, 128, 256, 20}) {
    for (int64_t n_q : {1, 2, 5}) {
      for (int64_t n_kv : {1, 2, 7, 8, 17, 300}) {
        const int64_t stride = 3 * head_dim + 5;  // heads interleaved in a wider cache row
        const std::vector<float> q = random_floats(static_cast<size_t>(n_q * head_dim), 31, 1.0f);
        const std::vector<float> k = random_floats(static_cast<size_t>(n_kv * stride), 32, 1.0f);
        const std::vector<float> v = random_floats(static_cast<size_t>(n_kv * stride), 33, 1.0f);
        std::vector<float> s1(static_cast<size_t>(n_kv)), s2(static_cast<size_t>(n_q * n_kv));
        std::vector<float> got(static_cast<size_t>(n_q * head_dim)), want(static_cast<size_t>(head_dim));
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        table().attend_heads(q.data(), n_q, k.data() + 1, stride, v.data() + 2, stride, n_kv, head_dim, scale, s2.data(),
                             got.data());
        for (int64_t i = 0; i < n_q; ++i) {
          ref::attend_head(q.data() + i * head_dim, k.data() + 1, stride, v.data() + 2, stride, n_kv, head_dim, scale,
                           s1.data(), want.data());
          for (int64_t d = 0; d < head_dim; ++d)
            ASSERT_NEAR(got[static_cast<size_t>(i * head_dim + d)], want[d], 2e-5f)
                << "head_dim=" << head_dim << " n_q=" << n_q << " n_kv=" << n_kv << " head=" << i << " d=" << d;
        }
      }
    }
  }
}

// Several consecutive tokens of one sequence (token i sees n_kv0 + i keys): blocks of eight query
// vectors where the group size divides 8, one token at a time otherwise (group 3, head size 20),
// tails of a block, and rows of the tokens interleaved in a wider q / out row.
template <typename KV, typename Fn, typename Ref>
void check_attend_tokens(Fn fn, Ref ref_head, uint32_t seed) {
  for (int64_t head_dim : {64, 128, 256, 20}) {
    for (int64_t n_q : {1, 2, 3, 4, 8}) {
      for (int64_t n_tok : {1, 3, 4, 9, 17, 40}) {
        for (int64_t n_kv0 : {1, 6, 40}) {
          const int64_t n_kv = n_kv0 + n_tok - 1, stride = 3 * head_dim + 5;
          const int64_t q_stride = n_q * head_dim + 7;
          const std::vector<float> q = random_floats(static_cast<size_t>(n_tok * q_stride), seed, 1.0f);
          const std::vector<float> kf = random_floats(static_cast<size_t>(n_kv * stride), seed + 1, 1.0f);
          const std::vector<float> vf = random_floats(static_cast<size_t>(n_kv * stride), seed + 2, 1.0f);
          std::vector<KV> k(kf.size()), v(vf.size());
          if constexpr (std::is_same_v<KV, float>) {
            k = kf;
            v = vf;
          } else {
            ref::f32_to_f16(kf.data(), k.data(), static_cast<int64_t>(kf.size()));
            ref::f32_to_f16(vf.data(), v.data(), static_cast<int64_t>(vf.size()));
          }
          std::vector<float> scores(static_cast<size_t>(n_tok * n_q * n_kv)), s1(static_cast<size_t>(n_kv));
          std::vector<float> got(static_cast<size_t>(n_tok * q_stride), -7.0f), want(static_cast<size_t>(head_dim));
          const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
          fn(q.data(), q_stride, n_tok, n_q, k.data() + 1, stride, v.data() + 2, stride, n_kv0, head_dim, scale,
             scores.data(), got.data(), q_stride);
          for (int64_t t = 0; t < n_tok; ++t)
            for (int64_t h = 0; h < n_q; ++h) {
              ref_head(q.data() + t * q_stride + h * head_dim, k.data() + 1, stride, v.data() + 2, stride, n_kv0 + t,
                       head_dim, scale, s1.data(), want.data());
              for (int64_t d = 0; d < head_dim; ++d)
                ASSERT_NEAR(got[static_cast<size_t>(t * q_stride + h * head_dim + d)], want[d], 2e-5f)
                    << "head_dim=" << head_dim << " n_q=" << n_q << " n_tok=" << n_tok << " n_kv0=" << n_kv0
                    << " token=" << t << " head=" << h << " d=" << d;
            }
          for (int64_t t = 0; t < n_tok; ++t)  // the gap after each token's heads is left alone
            for (int64_t x = n_q * head_dim; x < q_stride; ++x) ASSERT_EQ(got[static_cast<size_t>(t * q_stride + x)], -7.0f);
        }
      }
    }
  }
}

// Through ops.h, as the model calls it: the table's kernel where it has one (AVX-512), else one
// attend_heads call per token (AVX2, scalar).
TEST_P(SmallOpsIsaTest, AttendTokensMatchesReferencePerToken) {
  ASSERT_TRUE(set_isa_for_testing(GetParam()));
  check_attend_tokens<float>(kernels::attend_tokens, ref::attend_head, 51);
  check_attend_tokens<uint16_t>(kernels::attend_tokens_f16, ref::attend_head_f16, 61);
  ASSERT_TRUE(set_isa_for_testing(Isa::kScalar));
  check_attend_tokens<float>(kernels::attend_tokens, ref::attend_head, 71);
  check_attend_tokens<uint16_t>(kernels::attend_tokens_f16, ref::attend_head_f16, 81);
  set_isa_for_testing(active_isa());
}

TEST_P(SmallOpsIsaTest, AttendHeadsOverAnF16CacheMatchesReference) {
  ASSERT_NE(table().attend_heads_f16, nullptr);
  for (int64_t head_dim : {64, 128, 256, 20}) {
    for (int64_t n_q : {1, 2, 5}) {
      for (int64_t n_kv : {1, 2, 7, 8, 17, 300}) {
        const int64_t stride = 3 * head_dim + 5;
        const std::vector<float> q = random_floats(static_cast<size_t>(n_q * head_dim), 41, 1.0f);
        const std::vector<float> kf = random_floats(static_cast<size_t>(n_kv * stride), 42, 1.0f);
        const std::vector<float> vf = random_floats(static_cast<size_t>(n_kv * stride), 43, 1.0f);
        std::vector<uint16_t> k(kf.size()), v(vf.size());
        ref::f32_to_f16(kf.data(), k.data(), static_cast<int64_t>(kf.size()));
        ref::f32_to_f16(vf.data(), v.data(), static_cast<int64_t>(vf.size()));
        std::vector<float> s1(static_cast<size_t>(n_kv)), s2(static_cast<size_t>(n_q * n_kv));
        std::vector<float> got(static_cast<size_t>(n_q * head_dim)), want(static_cast<size_t>(head_dim));
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        table().attend_heads_f16(q.data(), n_q, k.data() + 1, stride, v.data() + 2, stride, n_kv, head_dim, scale,
                                 s2.data(), got.data());
        for (int64_t i = 0; i < n_q; ++i) {
          ref::attend_head_f16(q.data() + i * head_dim, k.data() + 1, stride, v.data() + 2, stride, n_kv, head_dim,
                               scale, s1.data(), want.data());
          for (int64_t d = 0; d < head_dim; ++d)
            ASSERT_NEAR(got[static_cast<size_t>(i * head_dim + d)], want[d], 2e-5f)
                << "head_dim=" << head_dim << " n_q=" << n_q << " n_kv=" << n_kv << " head=" << i << " d=" << d;
        }
      }
    }
  }
}

TEST_P(SmallOpsIsaTest, F32ToF16RoundsAsTheScalarCodec) {
  ASSERT_NE(table().f32_to_f16, nullptr);
  std::vector<float> x = random_floats(1001, 44, 100.0f);
  // Ties, subnormals, overflow, infinities, NaN and signed zero.
  const float special[] = {0.0f, -0.0f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 6e-8f, -3e-5f, 65504.0f, 65520.0f,
                           1e6f, -1e6f, INFINITY, -INFINITY, NAN};
  x.insert(x.begin(), std::begin(special), std::end(special));
  std::vector<uint16_t> got(x.size()), want(x.size());
  table().f32_to_f16(x.data(), got.data(), static_cast<int64_t>(x.size()));
  ref::f32_to_f16(x.data(), want.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      EXPECT_TRUE((got[i] & 0x7C00) == 0x7C00 && (got[i] & 0x03FF) != 0) << "NaN stays NaN";
      continue;
    }
    EXPECT_EQ(got[i], want[i]) << "x=" << x[i];
  }
}

std::string isa_label(const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); }

INSTANTIATE_TEST_SUITE_P(SupportedIsas, SmallOpsIsaTest, ::testing::ValuesIn(supported_fast_isas()), isa_label);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SmallOpsIsaTest);

}  // namespace
}  // namespace kaiyuan::kernels
