// Scale search and scale packing shared by the K-quant reference quantizers (ggml-quants.c:
// nearest_int, make_qkx2_quants, make_qx_quants, get_scale_min_k4). Internal to kernels/quant.
#pragma once

#include <cstdint>

namespace kaiyuan::quant::detail {

// Round to nearest, ties to even, by ggml's 1.5*2^23 trick (valid for |v| <= 2^22; beyond that the
// result is meaningless but defined).
int nearest_int(float v);

// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is treated as all zeros.
constexpr float kGroupMaxEps = 1e-15f;

// Fits x[i] ~= scale * L[i] - the_min with L in [0, nmax], minimising the weighted squared error over
// nstep+1 trial scales (ggml make_qkx2_quants with use_mad = false). Returns scale; L gets levels.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep);

// Fits x[i] ~= scale * (L[i] - nmax) with L in [0, 2*nmax), weights x^2 (ggml make_qx_quants with
// rmse_type = 1 and no importance weights, as quantize_row_q6_K_ref calls it). Returns scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L);

// The 6-bit scale and min of sub-block j (0..7) from a Q4_K/Q5_K 12-byte `scales` field.
void get_scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min);

// Packs eight 6-bit scales and mins into the 12-byte layout get_scale_min_k4 reads.
void pack_scale_min_k4(const uint8_t* scales, const uint8_t* mins, uint8_t* q);

// The Q4_K/Q5_K super-block header both formats compute the same way (quantize_row_q{4,5}_K_ref):
// per 32-element sub-block, make_qkx2_quants with weights av_x + |x|, then the scales and mins
// re-quantized to 6 bits against fp16 super-scales. Fills `d`, `dmin`, `scales` and levels L[256].
struct KQuantHeader {
  uint16_t d, dmin;
  uint8_t scales[12];
};
KQuantHeader quantize_k_header(const float* x, int nmax, float rmin, float rdelta, int nstep, uint8_t* L);

// Re-derives the levels of every sub-block from the stored (rounded) scales, as ggml does after
// packing: L = clamp(nearest_int((x + dm) / d), 0, nmax); sub-blocks with d == 0 keep their levels.
void requantize_k_levels(const float* x, const KQuantHeader& h, int nmax, uint8_t* L);

}  // namespace kaiyuan::quant::detail
