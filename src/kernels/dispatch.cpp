#include "kernels/dispatch.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace kaiyuan::kernels {
namespace {

bool os_saves_avx512_state() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return false;
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xe6) == 0xe6;  // XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM
}

// F16C straight from CPUID (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports does not know "f16c".
bool cpu_has_f16c() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

// AMX-TILE, AMX-INT8 and AMX-BF16 (CPUID leaf 7, EDX bits 24, 25 and 22), the OS enabling the tile state in XCR0
// (bits 17 and 18), and Linux granting this process the tile data (arch_prctl ARCH_REQ_XCOMP_PERM:
// without it the first tile instruction faults). Asked once; the grant holds for every thread.
bool amx_usable() {
  static const bool usable = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if (!(d & (1u << 24)) || !(d & (1u << 25)) || !(d & (1u << 22))) return false;
    // AVX512-BF16 (leaf 7 subleaf 1, EAX bit 5): the kernels round f32 to bf16 with vcvtne2ps2bf16.
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5))) return false;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false;
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return usable;
}

Isa detect() {
  if (cpu_supports(Isa::kAmx)) return Isa::kAmx;
  if (cpu_supports(Isa::kAvx512)) return Isa::kAvx512;
  if (cpu_supports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kScalar;
}

Isa choose() {
  const Isa best = detect();
  const char* env = std::getenv("KAIYUAN_ISA");
  if (env == nullptr || *env == '\0') return best;
  const std::string want(env);
  Isa forced;
  if (want == "scalar") forced = Isa::kScalar;
  else if (want == "avx2") forced = Isa::kAvx2;
  else if (want == "avx512") forced = Isa::kAvx512;
  else if (want == "amx") forced = Isa::kAmx;
  else {
    std::fprintf(stderr, "warning: KAIYUAN_ISA=%s is not one of scalar|avx2|avx512|amx; using %s\n", env,
                 std::string(isa_name(best)).c_str());
    return best;
  }
  if (!cpu_supports(forced)) {
    std::fprintf(stderr, "warning: KAIYUAN_ISA=%s is not supported by this CPU; using %s\n", env,
                 std::string(isa_name(best)).c_str());
    return best;
  }
  return forced;
}

}  // namespace

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    case Isa::kAvx512:
      return cpu_supports(Isa::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni") && os_saves_avx512_state();
    case Isa::kAmx:
      return cpu_supports(Isa::kAvx512) && amx_usable();
  }
  return false;
}

Isa active_isa() {
  static const Isa isa = choose();
  return isa;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAmx: return "amx";
  }
  return "unknown";
}

}  // namespace kaiyuan::kernels
