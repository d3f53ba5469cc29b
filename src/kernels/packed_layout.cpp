// Packing and unpacking of the layouts in packed_layout.h, in portable C++ (no intrinsics).
#include "kernels/packed_layout.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "kernels/quant/k_quant_search.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::kernels {
namespace {

using quant::kQK;
using quant::kQK_K;

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <class T>
void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

// Every packer below first puts one row's levels into the byte order of the packed layout (each
// 4-byte chunk as it will sit in the group block), then moves the chunks to their rows' places:
// chunk c of row i goes to byte 64c + 4i of its 64-byte line. Plain loops over small fixed-size
// arrays that the compiler vectorizes; packing runs at load for the dense matrices and per batch
// for mapped MoE experts (kernels/ops.h matmul_packing_on_the_fly), so it has to keep up with
// memory.
void scatter_chunks(const uint8_t* row_chunks, int n_chunks, int i, uint8_t* out) {
  for (int c = 0; c < n_chunks; ++c) std::memcpy(out + 64 * c + 4 * i, row_chunks + 4 * c, 4);
}

void pack_q8_0_group(const TensorView& src, int64_t g, uint8_t* dst) {
  const int64_t nb = src.cols() / kQK;
  const size_t stride = src.row_stride();
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* out = dst + static_cast<size_t>(b) * kQ8_0R16GroupBlock;
    for (int i = 0; i < kPackRows; ++i) {
      quant::BlockQ8_0 blk;
      std::memcpy(&blk, src.data + static_cast<size_t>(g * kPackRows + i) * stride + b * sizeof(blk), sizeof(blk));
      int sum = 0;
      for (int k = 0; k < kQK; ++k) sum += blk.qs[k];
      scatter_chunks(reinterpret_cast<const uint8_t*>(blk.qs), kQK / 4, i, out);
      store<uint16_t>(out + 512 + 2 * i, blk.d);
      store<int16_t>(out + 544 + 2 * i, static_cast<int16_t>(sum));
    }
  }
}

// The 6-bit levels (0..63, stored +32) of a ggml block_q6_K, in column order
// (dequantize_row_q6_K): each 128-column half h reads ql[64h..], qh[32h..]; run r of 32 columns
// takes ql[l] or ql[l + 32] (r odd), low nibble for r < 2, and qh bits 2r, 2r + 1.
void q6_k_levels(const quant::BlockQ6_K& b, uint8_t* lev) {
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    uint8_t* out = lev + 128 * half;
    for (int l = 0; l < 32; ++l) {
      out[l] = static_cast<uint8_t>((ql[l] & 0xF) | ((qh[l] & 3) << 4));
      out[32 + l] = static_cast<uint8_t>((ql[32 + l] & 0xF) | (((qh[l] >> 2) & 3) << 4));
      out[64 + l] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      out[96 + l] = static_cast<uint8_t>((ql[32 + l] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

void pack_q6_k_group(const TensorView& src, int64_t g, uint8_t* dst) {
  const int64_t nsb = src.cols() / kQK_K;
  const size_t stride = src.row_stride();
  for (int64_t b = 0; b < nsb; ++b) {
    uint8_t* out = dst + static_cast<size_t>(b) * kQ6_KR16GroupBlock;
    for (int i = 0; i < kPackRows; ++i) {
      quant::BlockQ6_K blk;
      std::memcpy(&blk, src.data + static_cast<size_t>(g * kPackRows + i) * stride + b * sizeof(blk), sizeof(blk));
      uint8_t lev[kQK_K];
      q6_k_levels(blk, lev);
      for (int j = 0; j < 8; ++j) {
        const uint8_t* s = lev + 32 * j;  // sub-block j: chunks h = 0..3 pair columns 4h+l and 16+4h+l
        uint8_t lo[16], hi[8] = {};
        for (int k = 0; k < 16; ++k) lo[k] = static_cast<uint8_t>((s[k] & 0xF) | ((s[16 + k] & 0xF) << 4));
        for (int h = 0; h < 4; ++h)
          for (int l = 0; l < 4; ++l) {
            hi[l] |= static_cast<uint8_t>((s[4 * h + l] >> 4) << (2 * h));
            hi[4 + l] |= static_cast<uint8_t>((s[16 + 4 * h + l] >> 4) << (2 * h));
          }
        scatter_chunks(lo, 4, i, out + 256 * j);
        scatter_chunks(hi, 2, i, out + 2048 + 128 * j);
      }
      for (int s = 0; s < 16; ++s) out[3072 + 16 * s + i] = static_cast<uint8_t>(blk.scales[s]);
      store<uint16_t>(out + 3328 + 2 * i, blk.d);
    }
  }
}

void pack_bf16_group(const TensorView& src, int64_t g, uint8_t* dst) {
  const int64_t cols = src.cols();
  const size_t stride = src.row_stride();
  for (int i = 0; i < kPackRows; ++i)
    scatter_chunks(src.data + static_cast<size_t>(g * kPackRows + i) * stride, static_cast<int>(cols / 2), i, dst);
}

void pack_q4_k_group(const TensorView& src, int64_t g, uint8_t* dst) {
  const int64_t nsb = src.cols() / kQK_K;
  const size_t stride = src.row_stride();
  for (int64_t b = 0; b < nsb; ++b) {
    uint8_t* out = dst + static_cast<size_t>(b) * kQ4_KR16GroupBlock;
    for (int i = 0; i < kPackRows; ++i) {
      quant::BlockQ4_K blk;
      std::memcpy(&blk, src.data + static_cast<size_t>(g * kPackRows + i) * stride + b * sizeof(blk), sizeof(blk));
      // ggml's 64-column pair p holds sub-block 2p in the low nibbles of qs[32p..32p+31] and 2p+1
      // in the high ones; the packed byte k of sub-block j holds its columns k and 16 + k.
      uint8_t nib[8][16];
      for (int p = 0; p < 4; ++p)
        for (int k = 0; k < 16; ++k) {
          const uint8_t a = blk.qs[32 * p + k], c = blk.qs[32 * p + 16 + k];
          nib[2 * p][k] = static_cast<uint8_t>((a & 0xF) | (c << 4));
          nib[2 * p + 1][k] = static_cast<uint8_t>((a >> 4) | (c & 0xF0));
        }
      for (int j = 0; j < 8; ++j) {
        scatter_chunks(nib[j], 4, i, out + 256 * j);
        uint8_t sc, mn;
        quant::detail::get_scale_min_k4(j, blk.scales, &sc, &mn);
        out[2048 + 16 * j + i] = sc;
        out[2176 + 16 * j + i] = mn;
      }
      store<uint16_t>(out + 2304 + 2 * i, blk.d);
      store<uint16_t>(out + 2336 + 2 * i, blk.dmin);
    }
  }
}

}  // namespace

std::optional<DType> packed_layout_for(DType type, int64_t rows, int64_t cols) {
  if (rows <= 0 || rows % kPackRows != 0) return std::nullopt;
  if (type == DType::Q8_0 && cols > 0 && cols % kQK == 0) return DType::Q8_0_R16;
  if (type == DType::Q4_K && cols > 0 && cols % kQK_K == 0) return DType::Q4_K_R16;
  if (type == DType::Q6_K && cols > 0 && cols % kQK_K == 0) return DType::Q6_K_R16;
  if (type == DType::BF16 && cols > 0 && cols % 2 == 0) return DType::BF16_R16;
  return std::nullopt;
}

size_t packed_nbytes(DType packed, int64_t rows, int64_t cols) {
  return *row_bytes(packed, cols) * static_cast<size_t>(rows);
}

void pack_group(const TensorView& src, DType packed, int64_t g, uint8_t* out) {
  if (packed == DType::Q8_0_R16) pack_q8_0_group(src, g, out);
  else if (packed == DType::Q4_K_R16) pack_q4_k_group(src, g, out);
  else if (packed == DType::BF16_R16) pack_bf16_group(src, g, out);
  else pack_q6_k_group(src, g, out);
}

void pack_groups(const TensorView& src, DType packed, int64_t g0, int64_t g1, uint8_t* dst) {
  const size_t group_bytes = packed_nbytes(packed, kPackRows, src.cols());
  for (int64_t g = g0; g < g1; ++g) pack_group(src, packed, g, dst + static_cast<size_t>(g) * group_bytes);
}

void unpack_row(const TensorView& packed, int64_t row, float* dst) {
  const int64_t cols = packed.cols(), g = row / kPackRows;
  const int i = static_cast<int>(row % kPackRows);
  const uint8_t* group = packed.data + static_cast<size_t>(g) * packed_nbytes(packed.dtype, kPackRows, cols);
  if (packed.dtype == DType::Q8_0_R16) {
    for (int64_t b = 0; b < cols / kQK; ++b) {
      const uint8_t* blk = group + static_cast<size_t>(b) * kQ8_0R16GroupBlock;
      const float d = f16_to_f32(load<uint16_t>(blk + 512 + 2 * i));
      for (int k = 0; k < kQK; ++k) dst[b * kQK + k] = d * static_cast<int8_t>(blk[(k / 4) * 64 + i * 4 + k % 4]);
    }
    return;
  }
  if (packed.dtype == DType::BF16_R16) {
    for (int64_t k = 0; k < cols; ++k)
      dst[k] = bf16_to_f32(load<uint16_t>(group + (k / 2) * 64 + 4 * i + 2 * (k % 2)));
    return;
  }
  if (packed.dtype == DType::Q6_K_R16) {
    for (int64_t b = 0; b < cols / kQK_K; ++b) {
      const uint8_t* blk = group + static_cast<size_t>(b) * kQ6_KR16GroupBlock;
      const float d = f16_to_f32(load<uint16_t>(blk + 3328 + 2 * i));
      for (int j = 0; j < 8; ++j)
        for (int c = 0; c < 8; ++c)
          for (int l = 0; l < 4; ++l) {
            const uint8_t nib = blk[256 * j + 64 * (c % 4) + 4 * i + l];
            const uint8_t hi = blk[2048 + 128 * j + 64 * (c / 4) + 4 * i + l];
            const int q = (c < 4 ? nib & 0xF : nib >> 4) | (((hi >> (2 * (c % 4))) & 3) << 4);
            const int k = 32 * j + 4 * c + l;
            // ggml dequantize_row_q6_K: d * sc * (q - 32), in that order
            dst[b * kQK_K + k] = d * static_cast<int8_t>(blk[3072 + 16 * (k / 16) + i]) * (q - 32);
          }
    }
    return;
  }
  for (int64_t b = 0; b < cols / kQK_K; ++b) {
    const uint8_t* blk = group + static_cast<size_t>(b) * kQ4_KR16GroupBlock;
    const float d = f16_to_f32(load<uint16_t>(blk + 2304 + 2 * i));
    const float dmin = f16_to_f32(load<uint16_t>(blk + 2336 + 2 * i));
    for (int j = 0; j < 8; ++j) {
      // ggml dequantize_row_q4_K: d * sc * q - dmin * m
      const float scale = d * blk[2048 + 16 * j + i], min = dmin * blk[2176 + 16 * j + i];
      for (int c = 0; c < 8; ++c)
        for (int l = 0; l < 4; ++l) {
          const uint8_t byte = blk[256 * j + 64 * (c % 4) + 4 * i + l];
          const int q = c < 4 ? byte & 0xF : byte >> 4;
          dst[b * kQK_K + 32 * j + 4 * c + l] = scale * static_cast<float>(q) - min;
        }
    }
  }
}

void finish_q8_s256_block(float d, const int32_t (&sums)[8], uint8_t* block) {
  for (int j = 0; j < 8; ++j) {
    const float a = d * static_cast<float>(sums[j]);
    const uint16_t hi = f32_to_bf16(a), lo = f32_to_bf16(a - bf16_to_f32(hi));
    for (size_t copy : {size_t{0}, size_t{32}}) {
      store<uint16_t>(block + kQ8S256Pairs + copy + 4 * j, hi);
      store<uint16_t>(block + kQ8S256Pairs + copy + 4 * j + 2, lo);
    }
  }
  store<float>(block + kQ8S256Scale, d);
  std::memset(block + kQ8S256Scale + sizeof(float), 0, kQ8S256Block - kQ8S256Scale - sizeof(float));
}

void quantize_act_ref(DType act, const float* x, uint8_t* dst, int64_t n) {
  if (act == DType::Q8_S256) {
    for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K, dst += kQ8S256Block) {
      float amax = 0.0f;
      for (int k = 0; k < kQK_K; ++k) amax = std::max(amax, std::fabs(x[k]));
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      int32_t sums[8] = {};
      for (int k = 0; k < kQK_K; ++k) {
        const int q = static_cast<int>(std::nearbyint(x[k] * id));
        sums[k / 32] += q;
        dst[k] = static_cast<uint8_t>(static_cast<int8_t>(q));
      }
      finish_q8_s256_block(d, sums, dst);
    }
    return;
  }
  const size_t block_bytes = act == DType::Q8_U32 ? 36 : 48;
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, dst += block_bytes) {
    float amax = 0.0f;
    for (int k = 0; k < kQK; ++k) amax = std::max(amax, std::fabs(x[k]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0, half_sum[2] = {0, 0};
    for (int k = 0; k < kQK; ++k) {
      // nearbyint: ties to even, as the SIMD quantizers' vcvtps2dq in the default rounding mode
      const int q = static_cast<int>(std::nearbyint(x[k] * id));
      sum += q;
      half_sum[k / 16] += q;
      dst[k] = act == DType::Q8_U32 ? static_cast<uint8_t>(q + 128) : static_cast<uint8_t>(static_cast<int8_t>(q));
    }
    store<float>(dst + 32, d);
    if (act == DType::Q8_S32) {
      store<float>(dst + 36, d * static_cast<float>(sum));
      store<int32_t>(dst + 40, -32 * half_sum[0]);
      store<int32_t>(dst + 44, -32 * half_sum[1]);
    }
  }
}

void dequantize_act(DType act, const uint8_t* src, float* dst, int64_t n) {
  if (act == DType::Q8_S256) {
    for (int64_t b = 0; b < n / kQK_K; ++b, src += kQ8S256Block, dst += kQK_K) {
      const float d = load<float>(src + kQ8S256Scale);
      for (int k = 0; k < kQK_K; ++k) dst[k] = d * static_cast<float>(static_cast<int8_t>(src[k]));
    }
    return;
  }
  const size_t block_bytes = act == DType::Q8_U32 ? 36 : 48;
  for (int64_t b = 0; b < n / kQK; ++b, src += block_bytes, dst += kQK) {
    const float d = load<float>(src + 32);
    for (int k = 0; k < kQK; ++k)
      dst[k] = d * static_cast<float>(act == DType::Q8_U32 ? static_cast<int>(src[k]) - 128 : static_cast<int8_t>(src[k]));
  }
}

}  // namespace kaiyuan::kernels
