// OpenBLAS kernel selection on CPUs newer than the library (openblas_kernels.h).
#include "blas/openblas_kernels.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "blas/cpu_features.h"

extern "C" char* openblas_get_corename(void);

namespace blt::blas {

std::string openblas_coretype_override(std::string_view current, bool avx2_fma, bool avx512_core,
                                       bool avx512_bf16) {
  // OpenBLAS's x86-64 kernel sets without AVX2 (its fallbacks for an unknown model).
  static constexpr std::array<std::string_view, 9> pre_avx2 = {"Prescott", "Core2",  "Penryn",     "Dunnington", "Nehalem",
                                                            "Atom",     "Opteron", "Barcelona", "Sandybridge"};
  if (!avx2_fma || std::find(pre_avx2.begin(), pre_avx2.end(), current) == pre_avx2.end()) return "";
  if (avx512_core) return avx512_bf16 ? "Cooperlake" : "SkylakeX";
  return "Haswell";
}

std::string openblas_core() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

void ensure_openblas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // chosen by the user, or already re-executed
  const std::string want =
      openblas_coretype_override(openblas_core(), cpu_has_avx2_fma(), cpu_has_avx512_core(), cpu_has_avx512_bf16());
  if (want.empty()) return;
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  execv("/proc/self/exe", argv);  // returns only on failure: run on with OpenBLAS's own choice
}

}  // namespace blt::blas
