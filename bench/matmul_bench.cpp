// Matmul kernels, mapped row layout vs repacked layout (kernels/packed_layout.h) vs the mapped
// layout packed on the fly (matmul_packing_with, as MoE experts run), on random weights of a
// Qwen3-0.6B FFN shape. Prints tokens x rows x cols multiply-adds per second for each and the
// ratios to the row layout; they are interleaved repetition by repetition so machine noise hits
// all alike. Also prints the packer's speed (source bytes per second, one thread).
//
//   build/release/bench/matmul_bench [threads=1] [reps=15]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/quant/quant.h"

using namespace kaiyuan;

namespace {

struct Matrix {
  std::vector<uint8_t> bytes;
  TensorView view;
};

Matrix make(DType type, int64_t rows, int64_t cols) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> f(static_cast<size_t>(cols));
  Matrix m;
  const size_t row = *row_bytes(type, cols);
  m.bytes.resize(row * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : f) v = dist(rng);
    quant::quantize_row(type, f.data(), m.bytes.data() + r * row, cols);
  }
  m.view = {"w", type, {rows, cols}, m.bytes.data(), m.bytes.size()};
  return m;
}

Matrix pack(const Matrix& src) {
  const DType layout = *kernels::packed_layout_for(src.view.dtype, src.view.rows(), src.view.cols());
  Matrix m;
  m.bytes.resize(kernels::packed_nbytes(layout, src.view.rows(), src.view.cols()));
  kernels::pack_groups_with(kernels::active_kernels(), src.view, layout, 0, src.view.rows() / kernels::kPackRows,
                           m.bytes.data());
  m.view = {"w", layout, src.view.shape, m.bytes.data(), m.bytes.size()};
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 15;
  set_num_threads(threads);
  const kernels::KernelTable& table = kernels::active_kernels();
  std::printf("isa %s, %d thread(s), median of %d; Gmac/s = tokens x rows x cols / s / 1e9\n",
              std::string(kernels::isa_name(table.isa)).c_str(), threads, reps);
  std::printf("%-6s %-11s %7s %12s %13s %7s %13s %7s\n", "type", "shape", "tokens", "rows Gmac/s", "packed Gmac/s",
              "ratio", "on-the-fly", "ratio");
  const int64_t rows = 3072, cols = 1024;
  for (DType type : {DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
    const Matrix w = make(type, rows, cols);
    const Matrix p = pack(w);
    {
      std::vector<double> gbs;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const Matrix again = pack(w);
        gbs.push_back(static_cast<double>(w.bytes.size()) /
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e9);
      }
      std::printf("%-6s %4lldx%-6lld pack (one thread, incl. allocation): %.2f GB/s of source weights\n",
                  std::string(dtype_name(type)).c_str(), static_cast<long long>(rows), static_cast<long long>(cols),
                  median(gbs));
    }
    for (int64_t n : {1, 2, 4, 8, 64, 256}) {
      std::vector<float> x(static_cast<size_t>(n * cols), 0.5f), y(static_cast<size_t>(n * rows));
      const int inner = n == 1 ? 200 : std::max<int>(1, static_cast<int>(512 / n));
      std::vector<double> t[3];
      for (int r = 0; r < reps; ++r)
        for (int which = 0; which < 3; ++which) {
          const TensorView& v = which == 1 ? p.view : w.view;
          const auto t0 = std::chrono::steady_clock::now();
          for (int i = 0; i < inner; ++i) {
            if (which == 2) kernels::matmul_packing_with(table, v, x.data(), n, y.data());
            else kernels::matmul_with(table, v, x.data(), n, y.data());
          }
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / inner;
          t[which].push_back(static_cast<double>(n * rows * cols) / s / 1e9);
        }
      const double a = median(t[0]), b = median(t[1]), c = median(t[2]);
      std::printf("%-6s %4lldx%-6lld %7lld %12.1f %13.1f %6.2fx %13.1f %6.2fx\n", std::string(dtype_name(type)).c_str(),
                  static_cast<long long>(rows), static_cast<long long>(cols), static_cast<long long>(n), a, b, b / a, c,
                  c / a);
    }
  }
  return 0;
}
