// The OpenBLAS kernel set asked for on CPUs OpenBLAS does not know (blas/openblas_kernels.h).
#include "blas/openblas_kernels.h"

#include <gtest/gtest.h>

namespace blt::blas {
namespace {

TEST(OpenblasKernels, AFallbackKernelSetIsReplacedByWhatTheCpuRuns) {
  // (current, avx2_fma, avx512_core, avx512_bf16) -> wanted
  EXPECT_EQ(openblas_coretype_override("Prescott", true, true, true), "Cooperlake");  // Sapphire Rapids, 0.3.21
  EXPECT_EQ(openblas_coretype_override("Prescott", true, true, false), "SkylakeX");
  EXPECT_EQ(openblas_coretype_override("Nehalem", true, false, false), "Haswell");
  EXPECT_EQ(openblas_coretype_override("Sandybridge", true, false, false), "Haswell");
}

TEST(OpenblasKernels, AKnownOrMatchingKernelSetIsKept) {
  EXPECT_EQ(openblas_coretype_override("Cooperlake", true, true, true), "");
  EXPECT_EQ(openblas_coretype_override("SkylakeX", true, true, false), "");
  EXPECT_EQ(openblas_coretype_override("Zen", true, false, false), "");
  EXPECT_EQ(openblas_coretype_override("Haswell", true, false, false), "");
  // A CPU without AVX2 + FMA really is a pre-AVX2 machine: its fallback stays.
  EXPECT_EQ(openblas_coretype_override("Prescott", false, false, false), "");
}

TEST(OpenblasKernels, TheRunningKernelSetHasAName) { EXPECT_FALSE(openblas_core().empty()); }

}  // namespace
}  // namespace blt::blas
