// Which instruction-set path the kernels use. Chosen once at start-up from cpuid; the environment
// variable KAIYUAN_ISA=scalar|avx2|avx512 forces a path (for tests and comparisons). Models never
// see instruction sets: they call the entry points in kernels/ops.h.
#pragma once

#include <string_view>

namespace kaiyuan::kernels {

// kAvx2: AVX2 + FMA + F16C (x86-64-v3, the build baseline). kAvx512: F + BW + VL + DQ + VNNI
// (Ice Lake / Zen 4 and later), so x86_avx512.cpp may use vpdpbusd unconditionally. kAmx: kAvx512 plus
// AMX-TILE, AMX-INT8 and AMX-BF16 with the kernel's permission to use tile data (Sapphire Rapids and
// later): the AVX-512 kernels, with x86_amx.cpp's tile kernels for prompt-sized products and
// x86_amx_attention.cpp's prompt attention over an f16 cache.
enum class Isa { kScalar, kAvx2, kAvx512, kAmx };

// What this CPU can run (cpuid + OS support for the register state).
bool cpu_supports(Isa isa);
// The path in use: the best the CPU supports, or KAIYUAN_ISA when set and supported.
Isa active_isa();
std::string_view isa_name(Isa isa);
inline std::string_view active_isa_name() { return isa_name(active_isa()); }

}  // namespace kaiyuan::kernels
