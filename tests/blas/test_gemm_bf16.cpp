// blas::gemm_bf16 against gemm_naive<double> on bf16-rounded inputs: every transpose pair,
// awkward shapes, padded leading dimensions, alpha, beta 0 / 1 / 0.25, empty dimensions; the
// few-row kernel (blas/gemv_bf16.h) directly and around gemm_bf16's cut-off; the primitive cache
// (hit, bounded); shape errors. Skipped visibly on a CPU without bf16 matmuls.
// Tolerance: a product of two bf16 values (8-bit mantissas) is exact in float32 (24 bits), so
// the only errors are float32 roundings: K-1 additions, each off by at most u = 2^-24 of a
// partial sum bounded by S = sum_k |a_ik b_kj|, then one for alpha and one for beta's sum:
//   |err| <= (K + 2) u (|alpha| S + |beta c_ij|).
// This bound holds for any summation order (AMX tiles, K blocking); we allow 2x for the
// double reference's own rounding to float and keep the check strict enough that a bf16
// output, a lost term or a wrong transpose (errors near S itself) fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "blas/gemm.h"
#include "blas/gemm_bf16.h"
#include "blas/gemv_bf16.h"
#include "core/error.h"
#include "core/rng.h"

namespace blt::test {
namespace {

#define BLT_REQUIRE_BF16()                                                                  \
  do {                                                                                      \
    if (!blas::has_bf16_matmul())                                                           \
      GTEST_SKIP() << "this CPU has no bf16 matmul (bf16_isa " << blas::bf16_isa() << ")"; \
  } while (0)

struct Case {
  int64_t M, N, K;
  bool ta, tb;
  int64_t pad;  // added to every leading dimension
  float alpha, beta;
};

// A stored matrix of rows x ld, random bf16 values in [-1, 1) in the first cols, NaN in the padding.
std::vector<bf16> random_bf16(Rng& rng, int64_t rows, int64_t cols, int64_t ld) {
  std::vector<bf16> m(static_cast<size_t>(std::max<int64_t>(rows * ld, 1)), to_bf16(NAN));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m[r * ld + c] = to_bf16(static_cast<float>(2 * rng.uniform() - 1));
  return m;
}

std::vector<double> widen(const std::vector<bf16>& m, bool absolute) {
  std::vector<double> d(m.size());
  for (size_t i = 0; i < m.size(); ++i) d[i] = absolute ? std::fabs(to_float(m[i])) : to_float(m[i]);
  return d;
}

using Gemm = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const bf16*, int64_t, const bf16*, int64_t, float,
                     float*, int64_t);

void check_case(const Case& c, Gemm gemm = blas::gemm_bf16) {
  SCOPED_TRACE(::testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << c.ta
                                    << " tb=" << c.tb << " pad=" << c.pad << " alpha=" << c.alpha
                                    << " beta=" << c.beta);
  Rng rng(static_cast<uint64_t>(c.M * 1000003 + c.N * 1009 + c.K + c.ta * 7 + c.tb * 3));
  auto ld = [&](int64_t row) { return std::max<int64_t>(1, row) + c.pad; };
  const int64_t lda = ld(c.ta ? c.M : c.K), ldb = ld(c.tb ? c.K : c.N), ldc = ld(c.N);
  const std::vector<bf16> A = random_bf16(rng, c.ta ? c.K : c.M, c.ta ? c.M : c.K, lda);
  const std::vector<bf16> B = random_bf16(rng, c.tb ? c.N : c.K, c.tb ? c.K : c.N, ldb);
  // C's padding holds a sentinel that must survive; with beta 0, C holds NaN that must not be read.
  std::vector<float> C(static_cast<size_t>(std::max<int64_t>(c.M * ldc, 1)), 12345.f);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) C[i * ldc + j] = c.beta == 0.f ? NAN : static_cast<float>(rng.uniform());
  std::vector<double> ref(C.begin(), C.end()), bound(C.size(), 0.0);
  blas::gemm_naive<double>(c.ta, c.tb, c.M, c.N, c.K, c.alpha, widen(A, false).data(), lda, widen(B, false).data(),
                           ldb, c.beta, ref.data(), ldc);
  blas::gemm_naive<double>(c.ta, c.tb, c.M, c.N, c.K, 1.0, widen(A, true).data(), lda, widen(B, true).data(), ldb,
                           0.0, bound.data(), ldc);
  const std::vector<float> C0 = C;
  gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), ldc);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t at = static_cast<size_t>(i * ldc + j);
      if (j >= c.N) {
        ASSERT_EQ(C[at], 12345.f) << "padding of C written at (" << i << "," << j << ")";
        continue;
      }
      const double beta_c = c.beta == 0.f ? 0.0 : std::fabs(c.beta * C0[at]);
      const double tol = 2.0 * (c.K + 2) * 0x1p-24 * (std::fabs(c.alpha) * bound[at] + beta_c);
      ASSERT_NEAR(C[at], ref[at], tol) << "at (" << i << "," << j << ")";
    }
}

TEST(GemmBf16, MatchesNaiveOnAllTransposesAndShapes) {
  BLT_REQUIRE_BF16();
  const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {65, 33, 129}, {17, 9, 4096}, {64, 64, 64}};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int64_t pad : {0, 3}) check_case({s[0], s[1], s[2], ta, tb, pad, 1.f, 0.f});
}

TEST(GemmBf16, AlphaAndBetaScaleAndAccumulate) {
  BLT_REQUIRE_BF16();
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f, 0.25f})
        for (float alpha : {1.f, -1.75f}) check_case({31, 47, 70, ta, tb, ta ? 5 : 0, alpha, beta});
}

// The few-row kernel itself (blas/gemv_bf16.h, C = alpha·A·Bᵀ + beta·C), called directly.
void gemv(bool, bool, int64_t M, int64_t N, int64_t K, float alpha, const bf16* A, int64_t lda, const bf16* B,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  blas::gemv_bf16(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Every M up to the cut-off; N around the kernel's 4 rows in flight (and odd across two threads); K below,
// at and around the 32 bf16 of a vector; padded leading dimensions; beta 0 (C's NaN not read) and 1.
TEST(GemmBf16, FewRowKernelMatchesNaive) {
  BLT_REQUIRE_BF16();
  if (!blas::has_gemv_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16: gemm_bf16 uses oneDNN for few rows";
  for (int64_t M = 1; M <= blas::kGemvMaxRows; ++M)
    for (int64_t N : {1, 3, 4, 5, 9, 67})
      for (int64_t K : {1, 31, 32, 33, 64, 100, 2051})
        for (float beta : {0.f, 1.f})
          for (int64_t pad : {0, 5}) check_case({M, N, K, false, true, pad, N == 9 ? -1.75f : 1.f, beta}, gemv);
}

// gemm_bf16 takes the kernel up to the cut-off and oneDNN above it: both agree with the reference.
TEST(GemmBf16, FewRowsAroundTheCutOff) {
  BLT_REQUIRE_BF16();
  for (int64_t M = blas::kGemvMaxRows - 1; M <= blas::kGemvMaxRows + 2; ++M)
    for (float beta : {0.f, 1.f}) check_case({M, 261, 1030, false, true, 3, 1.f, beta});
}

TEST(GemmBf16, EmptyDimensions) {
  BLT_REQUIRE_BF16();
  check_case({0, 5, 7, false, false, 0, 1.f, 1.f});
  check_case({5, 0, 7, false, true, 0, 1.f, 0.f});
  check_case({4, 6, 0, false, false, 0, 1.f, 0.25f});  // K = 0: C = beta C
  check_case({4, 6, 0, true, true, 2, 1.f, 0.f});      // K = 0, beta 0: C = 0 (its NaN not read)
}

TEST(GemmBf16, PrimitivesAreCachedAndBounded) {
  BLT_REQUIRE_BF16();
  std::vector<bf16> a(4096, to_bf16(1.f)), b(4096, to_bf16(1.f));
  std::vector<float> c(4096);
  const size_t before = blas::gemm_bf16_cache_size();
  blas::gemm_bf16(false, true, 11, 13, 15, 1.f, a.data(), 15, b.data(), 15, 0.f, c.data(), 13);
  blas::gemm_bf16(false, true, 11, 13, 15, 1.f, a.data(), 15, b.data(), 15, 0.f, c.data(), 13);
  EXPECT_EQ(blas::gemm_bf16_cache_size(), before + 1) << "the same call twice makes one primitive";
  EXPECT_EQ(c[0], 15.f);
  blas::gemm_bf16(false, true, 11, 13, 15, 1.f, a.data(), 15, b.data(), 15, 1.f, c.data(), 13);
  EXPECT_EQ(blas::gemm_bf16_cache_size(), before + 2) << "beta != 0 is another primitive";
  EXPECT_EQ(c[0], 30.f);
  for (int64_t k = 1; k <= 300; ++k)
    blas::gemm_bf16(false, false, 1, 1, k, 1.f, a.data(), k, b.data(), 1, 0.f, c.data(), 1);
  EXPECT_EQ(blas::gemm_bf16_cache_size(), 256u) << "the cache keeps the 256 most recently used";
  EXPECT_EQ(c[0], 300.f);
}

TEST(GemmBf16, BadShapesThrowNamingTheDimension) {
  BLT_REQUIRE_BF16();
  std::vector<bf16> a(64), b(64);
  std::vector<float> c(64);
  EXPECT_THROW(blas::gemm_bf16(false, false, -1, 2, 2, 1.f, a.data(), 2, b.data(), 2, 0.f, c.data(), 2), ShapeError);
  try {
    blas::gemm_bf16(false, false, 2, 2, 4, 1.f, a.data(), 3, b.data(), 2, 0.f, c.data(), 2);
    FAIL() << "lda 3 < K 4 accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("lda is below the row length 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(blas::gemm_bf16(true, false, 2, 2, 4, 1.f, a.data(), 1, b.data(), 2, 0.f, c.data(), 2), ShapeError);
  EXPECT_THROW(blas::gemm_bf16(false, true, 2, 2, 4, 1.f, a.data(), 4, b.data(), 3, 0.f, c.data(), 2), ShapeError);
  EXPECT_THROW(blas::gemm_bf16(false, false, 2, 3, 4, 1.f, a.data(), 4, b.data(), 3, 0.f, c.data(), 2), ShapeError);
}

// Runs for real under ctest's test_blas_no_bf16 (ONEDNN_MAX_CPU_ISA=AVX512_CORE hides oneDNN's bf16
// kernels) or on a CPU without bf16: then nothing claims bf16 and gemm_bf16 refuses clearly.
TEST(GemmBf16Fallback, WithoutBf16NothingClaimsItAndGemmRefuses) {
  if (blas::has_bf16_matmul())
    GTEST_SKIP() << "this CPU has bf16 matmuls (" << blas::bf16_isa()
                 << "): ctest test_blas_no_bf16 runs this with ONEDNN_MAX_CPU_ISA=AVX512_CORE";
  EXPECT_EQ(blas::bf16_isa(), "none");
  bf16 a{}, b{};
  float c = 0;
  try {
    blas::gemm_bf16(false, false, 1, 1, 1, 1.f, &a, 1, &b, 1, 0.f, &c, 1);
    FAIL() << "gemm_bf16 ran without a bf16 engine";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no bf16 matrix engine"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace blt::test
