// Repacked weight layouts (kernels/packed_layout.h): packing loses no bit (unpacked rows equal the
// reference codec's), every ISA table's activation quantizer equals the reference one bit for bit,
// and every table's kernel for a packed layout matches the double-precision dot product of the
// unpacked weights with the dequantized activations, over odd token counts and row-group counts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::kernels {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

struct Matrix {
  std::vector<uint8_t> bytes;
  TensorView view;
};

Matrix quantized(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  const std::vector<float> f = random_floats(static_cast<size_t>(rows * cols), seed, 0.05f);
  const size_t row = *row_bytes(type, cols);
  Matrix m;
  m.bytes.resize(row * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_TRUE(quant::quantize_row(type, &f[static_cast<size_t>(r * cols)], m.bytes.data() + r * row, cols));
  m.view = {"w", type, {rows, cols}, m.bytes.data(), m.bytes.size()};
  return m;
}

Matrix packed(const Matrix& src) {
  const auto layout = packed_layout_for(src.view.dtype, src.view.rows(), src.view.cols());
  EXPECT_TRUE(layout.has_value());
  Matrix m;
  m.bytes.resize(packed_nbytes(*layout, src.view.rows(), src.view.cols()));
  pack_groups(src.view, *layout, 0, src.view.rows() / kPackRows, m.bytes.data());
  m.view = {"w", *layout, src.view.shape, m.bytes.data(), m.bytes.size()};
  return m;
}

TEST(PackedLayout, OnlyWholeGroupsOfSupportedTypesPack) {
  EXPECT_EQ(packed_layout_for(DType::Q8_0, 32, 64), DType::Q8_0_R16);
  EXPECT_EQ(packed_layout_for(DType::Q4_K, 16, 512), DType::Q4_K_R16);
  EXPECT_FALSE(packed_layout_for(DType::Q8_0, 24, 64));   // not whole groups of 16 rows
  EXPECT_FALSE(packed_layout_for(DType::Q4_K, 16, 128));  // not whole super-blocks
  EXPECT_EQ(packed_layout_for(DType::Q6_K, 16, 256), DType::Q6_K_R16);
  EXPECT_FALSE(packed_layout_for(DType::Q5_K, 16, 256));
  EXPECT_EQ(packed_layout_for(DType::BF16, 16, 6), DType::BF16_R16);
  EXPECT_FALSE(packed_layout_for(DType::BF16, 16, 7));  // columns go in pairs
  EXPECT_FALSE(packed_layout_for(DType::F32, 16, 16));
  EXPECT_EQ(packed_nbytes(DType::Q8_0_R16, 32, 64), 2 * 2 * kQ8_0R16GroupBlock);
  EXPECT_EQ(packed_nbytes(DType::Q4_K_R16, 16, 512), 2 * kQ4_KR16GroupBlock);
}

TEST(PackedLayout, UnpackedRowsEqualTheReferenceCodec) {
  for (DType type : {DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::BF16}) {
    const Matrix m = quantized(type, 48, 768, 3);
    const Matrix p = packed(m);
    std::vector<float> want(768), got(768);
    for (int64_t r = 0; r < 48; ++r) {
      ASSERT_TRUE(quant::dequantize_row(type, m.bytes.data() + r * m.view.row_stride(), want.data(), 768));
      unpack_row(p.view, r, got.data());
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << dtype_name(type) << " row " << r;
    }
  }
}

// Every path this CPU runs; those without a kernel for a layout use the reference (ref::matmul).
std::vector<const KernelTable*> supported_tables() {
  std::vector<const KernelTable*> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAmx})
    if (cpu_supports(isa) && kernel_table(isa).isa == isa) out.push_back(&kernel_table(isa));
  return out;
}

TEST(PackedLayout, SimdActivationQuantizersEqualTheReference) {
  for (DType layout : {DType::Q8_0_R16, DType::Q4_K_R16, DType::Q6_K_R16}) {
    for (const KernelTable* t : supported_tables()) {
      const MatmulKernel* base = t->matmul_for(layout);
      if (base == nullptr) continue;
      for (const MatmulKernel* k : {base, base->batch}) {  // and the batch kernel's blocks, where there is one
      if (k == nullptr) continue;
      std::vector<float> x = random_floats(512, 9, 2.0f);
      std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // an all-zero block
      x[200] = -7.25f;                                  // a negative maximum
      x[300] = 0.5f * (x[301] = 127.0f / 7.0f);          // a level tie (0.5 steps)
      const size_t bytes = *row_bytes(k->act_type, 512);
      std::vector<uint8_t> got(bytes), want(bytes);
      k->quantize_act(x.data(), got.data(), 512);
      quantize_act_ref(k->act_type, x.data(), want.data(), 512);
      EXPECT_EQ(got, want) << isa_name(t->isa) << " " << dtype_name(k->act_type);
      }
    }
  }
}

// Reference: dot of the unpacked weights with the dequantized activations, in double.
void expect_matches_reference(const KernelTable& table, const Matrix& p, int64_t n_tokens, uint32_t seed) {
  const int64_t rows = p.view.rows(), cols = p.view.cols();
  const MatmulKernel* base = table.matmul_for(p.view.dtype);
  const MatmulKernel* k = base != nullptr ? &base->for_tokens(n_tokens) : nullptr;
  std::vector<float> xbuf = random_floats(static_cast<size_t>(n_tokens * cols) + 1, seed, 1.0f);
  const float* x = xbuf.data() + 1;  // misaligned activations
  std::vector<float> y(static_cast<size_t>(n_tokens * rows), NAN);
  matmul_with(table, p.view, x, n_tokens, y.data());
  std::vector<float> w(static_cast<size_t>(cols)), xe(static_cast<size_t>(cols));
  for (int64_t t = 0; t < n_tokens; ++t) {
    if (k != nullptr && k->act_type != DType::F32) {
      std::vector<uint8_t> q(*row_bytes(k->act_type, cols));
      quantize_act_ref(k->act_type, x + t * cols, q.data(), cols);
      dequantize_act(k->act_type, q.data(), xe.data(), cols);
    } else {
      std::memcpy(xe.data(), x + t * cols, static_cast<size_t>(cols) * sizeof(float));  // scalar path: f32
    }
    for (int64_t r = 0; r < rows; ++r) {
      unpack_row(p.view, r, w.data());
      double want = 0.0, magnitude = 0.0;
      for (int64_t i = 0; i < cols; ++i) {
        want += static_cast<double>(w[i]) * xe[i];
        magnitude += std::fabs(static_cast<double>(w[i]) * xe[i]);
      }
      EXPECT_NEAR(y[static_cast<size_t>(t * rows + r)], want, 2e-5 * magnitude + 1e-6)
          << isa_name(table.isa) << " " << dtype_name(p.view.dtype) << " cols=" << cols << " tokens=" << n_tokens
          << " t=" << t << " r=" << r;
    }
  }
}

TEST(PackedLayout, EveryTableMatchesTheReferenceProduct) {
  struct Case {
    DType type;
    int64_t rows, cols;
  };
  // 3 groups (48 rows: threads split 16-row chunks unevenly), and wide rows whose 17, 33 and 49
  // tokens span several L2 chunks of activations (49: a tail after two chunks of the K-quant
  // tiles). 16, 17, 33 and 40 tokens: the AMX kernels' whole tiles of 16 tokens (the K-quants' in
  // pairs), with and without a tail (the AVX-512 kernel's for Q8_0, a zero-padded tile for the
  // K-quants).
  const Case cases[] = {{DType::Q8_0, 48, 32}, {DType::Q8_0, 48, 1024}, {DType::Q4_K, 48, 256},
                        {DType::Q4_K, 16, 768}, {DType::Q6_K, 48, 256}, {DType::Q6_K, 32, 1024},
                        {DType::BF16, 48, 30}, {DType::BF16, 32, 1024},
                        {DType::Q8_0, 16, 65536}, {DType::Q4_K, 16, 65536}, {DType::Q6_K, 16, 65536}};
  uint32_t seed = 100;
  for (const Case& c : cases) {
    const Matrix p = packed(quantized(c.type, c.rows, c.cols, seed++));
    for (const KernelTable* t : supported_tables())
      for (int64_t n_tokens : {1, 2, 3, 8, 9, 16, 17, 33, 40, 49}) {
        if (c.cols > 4096 ? n_tokens != 17 && n_tokens != 33 && n_tokens != 49 : n_tokens == 49) continue;
        expect_matches_reference(*t, p, n_tokens, seed++);
      }
  }
}

// Source rows of random bytes (every bit pattern of levels, scales and nibbles, not only what a
// quantizer writes) at an odd address: a table's fast packer writes the portable packer's bytes.
TEST(PackedLayout, FastPackersWriteThePortablePackersBytes) {
  int checked = 0;
  for (DType type : {DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::BF16}) {
    const int64_t rows = 48, cols = 768;
    const DType layout = *packed_layout_for(type, rows, cols);
    const size_t src_bytes = *row_bytes(type, cols) * rows;
    std::mt19937 rng(static_cast<uint32_t>(type) + 5);
    std::vector<uint8_t> storage(src_bytes + 1);
    for (uint8_t& b : storage) b = static_cast<uint8_t>(rng());
    const TensorView src{"w", type, {rows, cols}, storage.data() + 1, src_bytes};
    const size_t group_bytes = packed_nbytes(layout, kPackRows, cols);
    std::vector<uint8_t> want(packed_nbytes(layout, rows, cols));
    pack_groups(src, layout, 0, rows / kPackRows, want.data());
    for (const KernelTable* t : supported_tables()) {
      const MatmulKernel* mk = t->matmul_for(layout);
      if (mk == nullptr || mk->pack == nullptr) continue;
      std::vector<uint8_t> got(group_bytes + 1);
      for (int64_t g = 0; g < rows / kPackRows; ++g) {
        mk->pack(src.data + g * kPackRows * src.row_stride(), src.row_stride(), cols, got.data() + 1);
        ASSERT_EQ(0, std::memcmp(got.data() + 1, want.data() + g * group_bytes, group_bytes))
            << isa_name(t->isa) << " " << dtype_name(layout) << " group " << g;
      }
      ++checked;
    }
  }
  if (cpu_supports(Isa::kAvx512)) {
    EXPECT_GE(checked, 3);  // Q8_0, Q4_K and Q6_K have AVX-512 packers
  }
}

// matmul_packing_with packs a mapped matrix group by group into the repacked kernels (or, for
// batches of 16 tokens or more, runs the AMX table's kernel on the mapped rows, the last n % 16 as
// a padded tile): the same floats as matmul_with on the matrix repacked at load, bit for bit, on
// both sides of the token threshold (below it, the mapped layout's kernel).
TEST(PackedLayout, PackingOnTheFlyEqualsTheRepackedMatmul) {
  const struct {
    DType type;
    int64_t rows, cols;
  } cases[] = {{DType::Q8_0, 48, 1024}, {DType::Q4_K, 32, 768}, {DType::Q6_K, 48, 512}, {DType::BF16, 32, 64},
                {DType::Q8_0, 16, 65536}};  // wide rows: 40 tokens span several chunks of the AMX source kernel
  uint32_t seed = 900;
  for (const auto& c : cases) {
    const Matrix w = quantized(c.type, c.rows, c.cols, seed++);
    const Matrix p = packed(w);
    for (const KernelTable* t : supported_tables())
      for (int64_t n : {1, 3, 4, 5, 8, 9, 16, 17, 40}) {
        if (c.cols > 4096 && n != 40) continue;
        const std::vector<float> x = random_floats(static_cast<size_t>(n * c.cols), seed++, 1.0f);
        std::vector<float> got(static_cast<size_t>(n * c.rows)), want(got.size()), mapped(got.size());
        matmul_packing_with(*t, w.view, x.data(), n, got.data());
        matmul_with(*t, p.view, x.data(), n, want.data());
        matmul_with(*t, w.view, x.data(), n, mapped.data());
        const MatmulKernel* mk = t->matmul_for(p.view.dtype);
        const bool packs = mk != nullptr && mk->pack != nullptr && n >= mk->pack_min_tokens;
        const std::vector<float>& expected = packs ? want : mapped;
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(got[i], expected[i]) << isa_name(t->isa) << " " << dtype_name(c.type) << " tokens " << n << " i " << i;
      }
  }
}

TEST(PackedLayout, Avx512TableHasAKernelForEveryLayout) {
  if (!cpu_supports(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 on this CPU";
  EXPECT_NE(kernel_table(Isa::kAvx512).matmul_for(DType::Q8_0_R16), nullptr);
  EXPECT_NE(kernel_table(Isa::kAvx512).matmul_for(DType::Q4_K_R16), nullptr);
  EXPECT_NE(kernel_table(Isa::kAvx512).matmul_for(DType::Q6_K_R16), nullptr);
  EXPECT_NE(kernel_table(Isa::kAvx512).matmul_for(DType::BF16_R16), nullptr);
}

// The AMX table is the AVX-512 one with tile kernels for the int8 layouts (and so different entry
// points there): a table that silently fell back to AVX-512 would pass the product tests unseen.
// Q8_0 keeps the AVX-512 activation blocks; the K-quants' tiles take whole batches of 16 (Q4_K:
// 32) tokens and more with Q8_S256 blocks (MatmulKernel::batch), and leave smaller ones to AVX-512.
TEST(PackedLayout, AmxTableRunsItsOwnInt8Kernels) {
  if (!cpu_supports(Isa::kAmx)) GTEST_SKIP() << "no usable AMX on this CPU";
  const KernelTable& amx = kernel_table(Isa::kAmx);
  const KernelTable& avx512 = kernel_table(Isa::kAvx512);
  EXPECT_EQ(amx.isa, Isa::kAmx);
  ASSERT_NE(amx.matmul_for(DType::Q8_0_R16), nullptr);
  EXPECT_NE(amx.matmul_for(DType::Q8_0_R16)->rows, avx512.matmul_for(DType::Q8_0_R16)->rows);
  EXPECT_EQ(amx.matmul_for(DType::Q8_0_R16)->act_type, DType::Q8_U32);
  for (DType layout : {DType::Q4_K_R16, DType::Q6_K_R16}) {
    const MatmulKernel* k = amx.matmul_for(layout);
    ASSERT_NE(k, nullptr);
    ASSERT_NE(k->batch, nullptr) << dtype_name(layout);
    EXPECT_GE(k->batch_min_tokens, 16);
    EXPECT_EQ(&k->for_tokens(k->batch_min_tokens - 1), k);
    EXPECT_EQ(&k->for_tokens(k->batch_min_tokens), k->batch);
    EXPECT_EQ(k->batch->act_type, DType::Q8_S256);
    EXPECT_EQ(k->rows, avx512.matmul_for(layout)->rows) << dtype_name(layout);
    EXPECT_EQ(avx512.matmul_for(layout)->batch, nullptr);
  }
}

}  // namespace
}  // namespace kaiyuan::kernels
