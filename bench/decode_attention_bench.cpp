// The attention of one batched decode step, as the server runs it for several sequences: every
// layer, every sequence and every KV head, one token each (kernels::attend_heads_f16 over an f16
// cache laid out as KvCache's: a slot's layer holds each KV head's positions one after another;
// `layout` 0 lays it out as KvCache did before, each position's row holding all KV heads). The
// step's items are split over the thread pool the way model/llama.cpp splits them (KV-head-major).
// Prints the median and best step time over `reps` and the K/V bytes a step reads per second.
//
// The cache is on huge pages (as KvCache's arena is) and far larger than the positions read, so
// each step reads K/V from memory rather than from the last step's cache lines.
//
//   build/release/bench/decode_attention_bench [positions=140] [sequences=8] [reps=20] [layers=28]
//       [kv_heads=8] [group=2] [head_dim=128] [ctx=1024] [layout=1]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/huge_page_arena.h"
#include "core/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"
#include "kernels/ops.h"

using namespace kaiyuan;

int main(int argc, char** argv) {
  const auto arg = [&](int i, int64_t fallback) { return argc > i ? std::atoll(argv[i]) : fallback; };
  const int64_t pos = arg(1, 140), seqs = arg(2, 8), reps = arg(3, 20), layers = arg(4, 28);
  const int64_t kv_heads = arg(5, 8), group = arg(6, 2), head_dim = arg(7, 128), ctx = arg(8, 1024);
  const bool head_major = arg(9, 1) != 0;
  if (pos < 1 || pos > ctx || seqs < 1 || reps < 1 || layers < 1 || kv_heads < 1 || group < 1 || head_dim < 1) {
    std::fprintf(stderr,
                 "usage: %s [positions<=ctx] [sequences] [reps] [layers] [kv_heads] [group] [head_dim] [ctx] "
                 "[layout 0|1]\n",
                 argv[0]);
    return 2;
  }
  const int64_t kv_dim = kv_heads * head_dim;
  const size_t per_layer = static_cast<size_t>(ctx * kv_dim);
  const size_t elems = static_cast<size_t>(seqs * layers) * per_layer;
  HugePageArena arena;
  auto* k = reinterpret_cast<uint16_t*>(arena.allocate(elems * sizeof(uint16_t)));
  auto* v = reinterpret_cast<uint16_t*>(arena.allocate(elems * sizeof(uint16_t)));
  if (k == nullptr || v == nullptr) {
    std::fprintf(stderr, "cannot allocate %zu MiB of cache\n", 2 * elems * sizeof(uint16_t) >> 20);
    return 1;
  }
  std::mt19937 rng(1);
  // f16 values of magnitude 0.5-2 with random signs and mantissas: finite, no overflow in the dot products.
  for (size_t i = 0; i < elems; ++i) {
    k[i] = static_cast<uint16_t>(0x3800u + (rng() & 0x7FFu) + ((rng() & 1u) << 15));
    v[i] = static_cast<uint16_t>(0x3800u + (rng() & 0x7FFu) + ((rng() & 1u) << 15));
  }
  const int64_t q_dim = kv_heads * group * head_dim;
  std::vector<float> q(static_cast<size_t>(seqs * q_dim)), out(q.size());
  std::uniform_real_distribution<float> uni(-0.5f, 0.5f);
  for (float& x : q) x = uni(rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const auto cache_at = [&](uint16_t* base, int64_t s, int64_t l) { return base + static_cast<size_t>(s * layers + l) * per_layer; };

  std::vector<double> times;
  for (int64_t r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t l = 0; l < layers; ++l)
      parallel_for(seqs * kv_heads, [&](int64_t begin, int64_t end) {
        std::vector<float> scores(static_cast<size_t>(group * pos));
        for (int64_t i = begin; i < end; ++i) {
          const int64_t g = i / seqs, s = i % seqs;
          const size_t qo = static_cast<size_t>(s * q_dim + g * group * head_dim);
          const size_t off = static_cast<size_t>(head_major ? g * ctx * head_dim : g * head_dim);
          const int64_t stride = head_major ? head_dim : kv_dim;
          kernels::attend_heads_f16(&q[qo], group, cache_at(k, s, l) + off, stride, cache_at(v, s, l) + off, stride,
                                    pos, head_dim, scale, scores.data(), &out[qo]);
        }
      });
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double bytes = 2.0 * static_cast<double>(seqs * layers * pos * kv_dim) * sizeof(uint16_t);
  std::printf("isa %s, %d threads, %lld sequences x %lld positions, %lld layers, %lld KV heads x %lld query heads, "
              "head_dim %lld\n",
              std::string(kernels::isa_name(kernels::active_kernels().isa)).c_str(), num_threads(),
              static_cast<long long>(seqs), static_cast<long long>(pos), static_cast<long long>(layers),
              static_cast<long long>(kv_heads), static_cast<long long>(group), static_cast<long long>(head_dim));
  std::printf("step: median %.3f ms, best %.3f ms over %lld reps; K/V read at %.1f GB/s (median)\n", median * 1e3,
              times.front() * 1e3, static_cast<long long>(reps), bytes / median / 1e9);
}
