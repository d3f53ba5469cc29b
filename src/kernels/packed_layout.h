// Weights repacked once at load into layouts the prompt and decode kernels stream through without
// shuffling, and the activation blocks those kernels quantize to (the idea behind ik_llama.cpp's
// "_R4/_R8" types: interleave rows so one vector instruction works on many rows at once).
//
// Q8_0_R16: rows in groups of 16; for each group and each 32-column block, 576 bytes:
//   qs[8][16][4]  column chunk c (columns 4c..4c+3 of the block) of the 16 rows, 64 bytes per
//                 chunk: one vpdpbusd against 4 broadcast activation bytes gives 16 row sums
//   d[16]         the rows' f16 scales (ggml block_q8_0.d)
//   wsum[16]      int16 sum of each row's 32 levels (the correction for unsigned activations)
// Q4_K_R16: rows in groups of 16; for each group and each 256-column super-block, 2368 bytes:
//   qs[8][4][16][4]  sub-block j (32 columns), chunk h: byte l of row i holds column 4h+l in its
//                    low nibble and column 4(h+4)+l in its high nibble
//   sc[8][16], mn[8][16]  the 6-bit sub-block scales and mins (ggml get_scale_min_k4)
//   d[16], dmin[16]       the rows' f16 super-block scales
// Q6_K_R16: rows in groups of 16; for each group and each 256-column super-block, 3360 bytes:
//   lo[8][4][16][4]  the low 4 bits of the 6-bit levels, arranged as Q4_K_R16's nibbles
//   hi[8][2][16][4]  the top 2 bits: for 32-column block j, byte l of row i in the first 64 bytes
//                    holds chunks 0-3 (bits 2c, 2c+1 for column 4c+l), the next 64 chunks 4-7
//   sc[16][16]       the int8 scales of the 16-column sub-blocks
//   d[16]            the rows' f16 super-block scales
// BF16_R16: rows in groups of 16; for each group and each pair of columns (k, k + 1), 64 bytes:
//   32-bit word i holds row i's bf16 of column k in its low half and of column k + 1 in its high
//   half, so a shift and a mask turn one load into two vectors of 16 rows' f32 weights (F32
//   activations, one broadcast FMA per column: no horizontal sums).
// Activations (one row per token, blocks of 32 columns):
//   Q8_U32: u8 (level + 128)[32], f32 d            (for Q8_0_R16: vpdpbusd wants unsigned x)
//   Q8_S32: i8 level[32], f32 d, f32 d * sum(levels), i32 -32 * sum of levels 0-15 and 16-31
//           (Q4_K_R16's mins take d * sum; Q6_K_R16's level offset of 32 the half sums, which
//           start its two integer chains so the offset costs no instruction per token)
// Activations (one row per token, blocks of 256 columns; the AMX tile kernels for batches):
//   Q8_S256: i8 level[256], then 16 bf16 pairs: pair j < 8 is hi, lo of d * sum(levels of
//            32-column sub-block j) (hi + lo within 2^-18 of it), pairs 8-15 the same again,
//            then f32 d (one scale per super-block as ggml's Q8_K: K-quant sub-block scales then
//            fold into the integer products; the pairs are one row of a bf16 tile for the mins),
//            zeros to 384 bytes (tile rows that start on a cache line load about 1.3x faster)
// Levels are round(x / d) with d = max|x| / 127, so every repacked product is the reference
// dot product of the same levels: repacking changes no weight bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/dtype.h"
#include "core/tensor.h"

namespace kaiyuan::kernels {

constexpr int64_t kPackRows = 16;
constexpr size_t kQ8_0R16GroupBlock = 576;   // bytes per 16 rows x 32 columns
constexpr size_t kQ4_KR16GroupBlock = 2368;  // bytes per 16 rows x 256 columns
constexpr size_t kQ6_KR16GroupBlock = 3360;  // bytes per 16 rows x 256 columns
constexpr size_t kQ8S256Block = 384;         // bytes per 256 activations
constexpr size_t kQ8S256Pairs = 256;         // offset of the bf16 pairs in a Q8_S256 block
constexpr size_t kQ8S256Scale = 320;         // offset of the f32 d in a Q8_S256 block

// The repacked layout for a matrix of this type and shape, when one exists.
std::optional<DType> packed_layout_for(DType type, int64_t rows, int64_t cols);
// Bytes of the repacked copy of a [rows, cols] matrix (rows a multiple of kPackRows).
size_t packed_nbytes(DType packed, int64_t rows, int64_t cols);
// Writes rows [16 * g0, 16 * g1) of `src` (a matrix of the packed layout's source type) into
// `dst`, the start of the whole packed buffer. Groups are independent: callers may split them
// over threads.
void pack_groups(const TensorView& src, DType packed, int64_t g0, int64_t g1, uint8_t* dst);
// Writes group g (rows [16 * g, 16 * g + 16)) of `src` to `out`, packed_nbytes(packed, 16, cols) bytes.
void pack_group(const TensorView& src, DType packed, int64_t g, uint8_t* out);
// Row `row` of a repacked matrix back as f32 (the reference path's view of it).
void unpack_row(const TensorView& packed, int64_t row, float* dst);

// Reference activation quantizers and their inverses for Q8_U32 / Q8_S32 (n a multiple of 32)
// and Q8_S256 (n a multiple of 256).
void quantize_act_ref(DType act, const float* x, uint8_t* dst, int64_t n);
void dequantize_act(DType act, const uint8_t* src, float* dst, int64_t n);
// Writes a Q8_S256 block's pairs and d from its scale and its eight 32-column level sums (the
// SIMD quantizers share it, so their blocks equal the reference's bit for bit).
void finish_q8_s256_block(float d, const int32_t (&sums)[8], uint8_t* block);

}  // namespace kaiyuan::kernels
