// Machine limits measured in the same run as a benchmark (`kaiyuan bench --roofline`), so a
// throughput can be read against them: the memory read bandwidth (a generated token has to read its
// weights once) and the int8 multiply-add peak (prompt processing is compute-bound).
#pragma once

#include <cstddef>

namespace kaiyuan::kernels {

// GB/s reading a `bytes` buffer with every thread of the pool (each its own part), best of `reps`.
double measure_read_bandwidth(size_t bytes, int reps);

// Gmac/s of register-only int8 multiply-adds on every thread of the pool with the active ISA's best
// instruction (AVX-512 VNNI vpdpbusd, or AVX2 vpmaddubsw + vpmaddwd), best of `reps`; 0 when the
// active kernels have no SIMD integer path (scalar).
double measure_int8_peak(int reps);

}  // namespace kaiyuan::kernels
