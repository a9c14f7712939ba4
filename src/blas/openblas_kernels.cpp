// OpenBLAS kernel selection on CPUs newer than the library (openblas_kernels.h).
#include "blas/openblas_kernels.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <utility>

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

std::string openblas_coretype_notice(std::string_view coretype, bool avx2_fma, bool avx512_core, bool avx512_bf16) {
  // OpenBLAS's x86-64 kernel sets by the widest ISA they use: 1 AVX2, 2 AVX-512, 3 AVX-512 + BF16.
  static constexpr std::array<std::pair<std::string_view, int>, 5> rank = {
      {{"haswell", 1}, {"zen", 1}, {"skylakex", 2}, {"cooperlake", 3}, {"sapphirerapids", 3}}};
  const int best = avx512_bf16 && avx512_core ? 3 : avx512_core ? 2 : avx2_fma ? 1 : 0;
  if (coretype.empty() || best == 0) return "";
  std::string name(coretype);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  int have = 0;  // a pre-AVX2 set, or a name OpenBLAS would not know
  for (const auto& [set, r] : rank)
    if (name == set) have = r;
  if (have >= best) return "";
  static constexpr std::array<std::string_view, 4> best_name = {"", "Haswell", "SkylakeX", "Cooperlake"};
  return "note: OPENBLAS_CORETYPE=" + std::string(coretype) + " from the environment runs OpenBLAS kernels below " +
         "what this CPU runs (" + std::string(best_name[static_cast<size_t>(best)]) +
         "): float32 matmuls are slower; unset it to let blt choose";
}

std::string openblas_environment_notice() {
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  return openblas_coretype_notice(env ? env : "", cpu_has_avx2_fma(), cpu_has_avx512_core(), cpu_has_avx512_bf16());
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
