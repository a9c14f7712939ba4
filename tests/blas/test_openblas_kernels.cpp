// The OpenBLAS kernel set asked for on CPUs OpenBLAS does not know (blas/openblas_kernels.h).
#include "blas/openblas_kernels.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(OpenblasKernels, AnEnvironmentChoiceBelowTheCpuIsNoticedNotChanged) {
  // (OPENBLAS_CORETYPE, avx2_fma, avx512_core, avx512_bf16): AMD Zen 4 with the environment's Haswell.
  const std::string zen4 = openblas_coretype_notice("Haswell", true, true, true);
  EXPECT_NE(zen4.find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << zen4;
  EXPECT_NE(zen4.find("Cooperlake"), std::string::npos) << zen4;
  EXPECT_NE(openblas_coretype_notice("PRESCOTT", true, true, false).find("SkylakeX"), std::string::npos);
  EXPECT_NE(openblas_coretype_notice("zen", true, true, false), "");
  // What the CPU runs best, or better than it has, or unset: nothing to say.
  EXPECT_EQ(openblas_coretype_notice("COOPERLAKE", true, true, true), "");
  EXPECT_EQ(openblas_coretype_notice("SkylakeX", true, true, false), "");
  EXPECT_EQ(openblas_coretype_notice("Haswell", true, false, false), "");
  EXPECT_EQ(openblas_coretype_notice("", true, true, true), "");
  EXPECT_EQ(openblas_coretype_notice("Prescott", false, false, false), "");
}

TEST(OpenblasKernels, TheRunningKernelSetHasAName) { EXPECT_FALSE(openblas_core().empty()); }

}  // namespace
}  // namespace blt::blas
