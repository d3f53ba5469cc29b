#include "kernels/dispatch.h"

#include <cpuid.h>

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

Isa detect() {
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
  else {
    std::fprintf(stderr, "warning: KAIYUAN_ISA=%s is not one of scalar|avx2|avx512; using %s\n", env,
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
  }
  return "unknown";
}

}  // namespace kaiyuan::kernels
