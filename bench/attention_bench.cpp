// Attention over an f16 KV cache for a causal prompt, as LlamaModel runs it for one layer and one
// KV head: tokens in runs of 128 (kernels::attend_tokens_f16) against one attend_heads_f16 call per
// token, and the runs over an f32 cache. Prints multiply-adds per second (QK and PV: 2 x head_dim per query vector and key) and the
// ratio; the two are interleaved repetition by repetition so machine noise hits both alike.
//
// The cache rows hold kv_heads heads (the stride the model uses); the bench attends the first.
//
//   build/release/bench/attention_bench [tokens=512] [group=2] [head_dim=128] [reps=15] [kv_heads=8] [run=128]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"
#include "kernels/ops.h"

using namespace kaiyuan;

namespace {

uint16_t to_f16(float f) {
  // Values here are small normals: a plain truncating conversion is enough for a benchmark.
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const int exp = static_cast<int>((b >> 23) & 0xFF) - 127 + 15;
  if (exp <= 0) return static_cast<uint16_t>(sign);
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | ((b >> 13) & 0x3FF));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n_tok = argc > 1 ? std::atoll(argv[1]) : 512;
  const int64_t group = argc > 2 ? std::atoll(argv[2]) : 2;
  const int64_t head_dim = argc > 3 ? std::atoll(argv[3]) : 128;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 15;
  const int64_t kv_heads = argc > 5 ? std::atoll(argv[5]) : 8;
  const int64_t ks = kv_heads * head_dim;  // cache row stride
  const int64_t kRun = argc > 6 ? std::atoll(argv[6]) : 128;  // model/llama.cpp kAttendRun
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t q_dim = group * head_dim;
  std::vector<float> q(static_cast<size_t>(n_tok * q_dim)), out(q.size());
  std::vector<uint16_t> k(static_cast<size_t>(n_tok * ks)), v(k.size());
  for (float& x : q) x = dist(rng);
  for (uint16_t& x : k) x = to_f16(dist(rng));
  for (uint16_t& x : v) x = to_f16(dist(rng));
  std::vector<float> scores(static_cast<size_t>(kRun * group * n_tok));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const double macs = 2.0 * static_cast<double>(head_dim) * static_cast<double>(group) *
                      static_cast<double>(n_tok) * static_cast<double>(n_tok + 1) / 2.0;

  const auto runs = [&] {
    for (int64_t t = 0; t < n_tok; t += kRun) {
      const int64_t count = std::min(kRun, n_tok - t);
      kernels::attend_tokens_f16(&q[t * q_dim], q_dim, count, group, k.data(), ks, v.data(), ks, t + 1,
                                 head_dim, scale, scores.data(), &out[t * q_dim], q_dim);
    }
  };
  std::vector<float> k32(k.size()), v32(v.size());
  for (size_t i = 0; i < k.size(); ++i) k32[i] = dist(rng), v32[i] = dist(rng);
  const auto runs32 = [&] {
    for (int64_t t = 0; t < n_tok; t += kRun) {
      const int64_t count = std::min(kRun, n_tok - t);
      kernels::attend_tokens(&q[t * q_dim], q_dim, count, group, k32.data(), ks, v32.data(), ks, t + 1,
                             head_dim, scale, scores.data(), &out[t * q_dim], q_dim);
    }
  };
  const auto per_token = [&] {
    for (int64_t t = 0; t < n_tok; ++t)
      kernels::attend_heads_f16(&q[t * q_dim], group, k.data(), ks, v.data(), ks, t + 1, head_dim, scale,
                                scores.data(), &out[t * q_dim]);
  };
  std::vector<double> a, b, c;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    runs();
    a.push_back(macs / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e9);
    t0 = std::chrono::steady_clock::now();
    per_token();
    b.push_back(macs / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e9);
    t0 = std::chrono::steady_clock::now();
    runs32();
    c.push_back(macs / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e9);
  }
  std::printf("isa %s, one thread, %lld tokens, %lld query heads per KV head, head_dim %lld, %lld KV heads per "
              "cache row, median of %d\n",
              std::string(kernels::isa_name(kernels::active_kernels().isa)).c_str(), static_cast<long long>(n_tok),
              static_cast<long long>(group), static_cast<long long>(head_dim), static_cast<long long>(kv_heads), reps);
  std::printf("attend_tokens_f16 (runs of %lld): %.2f Gmac/s; attend_heads_f16 per token: %.2f Gmac/s; ratio %.2fx\n",
              static_cast<long long>(kRun), median(a), median(b), median(a) / median(b));
  std::printf("attend_tokens over an f32 cache (runs of %lld): %.2f Gmac/s\n", static_cast<long long>(kRun), median(c));
}
