// OpenBLAS's kernel set on CPUs it does not know. Debian's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks
// its kernels from the CPU model when the library loads; a model newer than the library (a Sapphire
// Rapids Xeon, family 6 model 207) falls back to "Prescott", the SSE3 kernels: sgemm at about 1/7
// of the speed the same CPU reaches with the Cooperlake (AVX-512) kernels. The choice can only be
// changed through the OPENBLAS_CORETYPE environment variable before the library loads, so the
// program re-executes itself once with it set.
#pragma once

#include <string>
#include <string_view>

namespace blt::blas {

// The OPENBLAS_CORETYPE to ask for, or "" to keep OpenBLAS's choice: non-empty only when
// `current` (openblas_get_corename()) is a pre-AVX2 kernel set while the CPU has AVX2 + FMA;
// then "Cooperlake" (AVX-512 with BF16), "SkylakeX" (AVX-512) or "Haswell" (AVX2).
std::string openblas_coretype_override(std::string_view current, bool avx2_fma, bool avx512_core,
                                       bool avx512_bf16);

// The kernel set OpenBLAS runs in this process ("Cooperlake", "Zen", "Prescott", ...).
std::string openblas_core();

// "" unless `coretype` (an OPENBLAS_CORETYPE value, any case) names a kernel set below the best this CPU
// runs (Cooperlake with AVX512-BF16, else SkylakeX with AVX-512, else Haswell with AVX2 + FMA); then a
// one-line notice naming both. The environment's choice is kept (the user's), only said: on an AVX-512
// CPU the AVX2 kernels halve sgemm.
std::string openblas_coretype_notice(std::string_view coretype, bool avx2_fma, bool avx512_core, bool avx512_bf16);
// openblas_coretype_notice() for this process's OPENBLAS_CORETYPE and CPU ("" when unset).
std::string openblas_environment_notice();

// At the start of main: when openblas_coretype_override() asks for another kernel set and
// OPENBLAS_CORETYPE is unset, sets it and re-executes /proc/self/exe with `argv` (before any thread or
// MPI exists). Returns normally when nothing is to be done or the re-exec fails (then the slow kernels run).
void ensure_openblas_kernels(char** argv);

}  // namespace blt::blas
