// The float32 products over float32 or bf16 weights, against a double reference on the same values:
// blas::gemm_f32_bf16 (float32 A times bf16 Bᵀ) through the streaming kernel (M <= kGemvF32MaxRows on AVX2
// CPUs, blas/gemv_f32.h) and the widened panels (more rows, or any M without AVX2; N·K past one panel
// too), and blas::gemm<float> through the same streaming kernel (few rows, B transposed), the column
// kernel (few rows, B not transposed) and cblas_sgemm (more): K tails, padded leading dimensions (NaN in
// the padding, which must be neither read nor written), alpha, beta 0 (C not read: NaN there) / 1 / 0.25,
// empty dimensions, the thread count (the few-row kernels' bits do not depend on it) and shape errors.
// Tolerance: bf16 weights widen exactly, so the only errors are float32 roundings: each product and K-1
// additions, each off by at most u = 2^-24 of a partial sum bounded by S = Σ_k |a_ik b_jk|, then one for
// alpha and one for beta's sum: |err| <= (K + 2) u (|alpha| S + |beta c_ij|), for any summation order; 2x
// for the reference's own rounding. A lost term, a wrong row or a bf16 rounding of A (errors near S) fails.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <tuple>
#include <vector>

#include "blas/gemm.h"
#include "blas/gemm_f32_bf16.h"
#include "blas/gemv_f32.h"
#include "core/error.h"
#include "core/rng.h"

namespace blt::test {
namespace {

struct Case {
  int64_t M, N, K;
  int64_t pad;  // added to every leading dimension
  float alpha, beta;
};

// rows x ld floats, uniform in [-1, 1) in the first cols, NaN in the padding.
std::vector<float> random_floats(Rng& rng, int64_t rows, int64_t cols, int64_t ld) {
  std::vector<float> m(static_cast<size_t>(std::max<int64_t>(rows * ld, 1)), NAN);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m[r * ld + c] = static_cast<float>(2 * rng.uniform() - 1);
  return m;
}

// C for case c, rows ldc apart: random, NaN where beta is 0 (not read) and in the padding.
std::vector<float> fresh_c(Rng& rng, const Case& c, int64_t ldc) {
  std::vector<float> C = random_floats(rng, c.M, c.N, ldc);
  if (c.beta == 0.f)
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) C[i * ldc + j] = NAN;
  return C;
}

// C against alpha·Σ_k A[i,k]·b(k, j) + beta·C0 in double, within the bound above; the padding untouched.
template <class BAt>
void expect_product(const Case& c, const std::vector<float>& A, int64_t lda, BAt b,
                    const std::vector<float>& C0, const std::vector<float>& C, int64_t ldc) {
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double ref = 0, S = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double p = double(A[i * lda + k]) * b(k, j);
        ref += p;
        S += std::fabs(p);
      }
      const double c0 = c.beta == 0.f ? 0.0 : double(C0[i * ldc + j]);
      ref = c.alpha * ref + c.beta * c0;
      const double tol = 2.0 * (c.K + 2) * std::ldexp(std::fabs(c.alpha) * S + std::fabs(c.beta * c0), -24);
      ASSERT_NEAR(C[i * ldc + j], ref, tol) << "C[" << i << "," << j << "]";
    }
    for (int64_t j = c.N; j < ldc; ++j) ASSERT_TRUE(std::isnan(C[i * ldc + j])) << "padding written";
  }
}

// v as weights of type W: bf16 rounded, float as is.
template <class W>
std::vector<W> weights(const std::vector<float>& v) {
  std::vector<W> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = W(to_bf16(v[i]));
  return b;
}
template <>
std::vector<float> weights<float>(const std::vector<float>& v) {
  return v;
}

float widen(bf16 w) {
  return to_float(w);
}
float widen(float w) {
  return w;
}

void product(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const bf16* B,
             int64_t ldb, float beta, float* C, int64_t ldc) {
  blas::gemm_f32_bf16(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void product(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
             int64_t ldb, float beta, float* C, int64_t ldc) {
  blas::gemm<float>(false, true, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// The product over weights W on fresh inputs for case c (seeded by the case) checked against double; C
// into *out.
template <class W = bf16>
void check_case(const Case& c, std::vector<float>* out = nullptr) {
  SCOPED_TRACE(::testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " pad=" << c.pad
                                    << " alpha=" << c.alpha << " beta=" << c.beta);
  Rng rng(static_cast<uint64_t>(c.M * 1000003 + c.N * 1009 + c.K * 7 + c.pad));
  const int64_t lda = c.K + c.pad, ldb = c.K + c.pad, ldc = c.N + c.pad;
  const std::vector<float> A = random_floats(rng, c.M, c.K, lda);
  const std::vector<W> B = weights<W>(random_floats(rng, c.N, c.K, ldb));
  std::vector<float> C = fresh_c(rng, c, ldc);
  const std::vector<float> C0 = C;
  product(c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), ldc);
  expect_product(
      c, A, lda, [&](int64_t k, int64_t j) { return widen(B[j * ldb + k]); }, C0, C, ldc);
  if (out) *out = C;
}

template <class W>
void check_shapes() {
  SCOPED_TRACE(blas::has_gemv_f32() ? "AVX2: streaming kernel up to kGemvF32MaxRows rows"
                                    : "no AVX2: widened panels / cblas_sgemm only");
  for (int64_t M : {1, 2, 3, 4, 5, 6, 7, 13})
    for (int64_t N : {1, 3, 5, 37})
      for (int64_t K : {1, 7, 8, 9, 64, 203})
        for (const auto& [pad, alpha, beta] : {std::tuple{0, 1.f, 0.f}, {3, 0.5f, 1.f}, {1, -2.f, 0.25f}})
          check_case<W>({M, N, K, pad, alpha, beta});
}

TEST(GemmF32Bf16, MatchesDoubleAcrossKernelsAndShapes) {
  check_shapes<bf16>();
}
TEST(GemmF32FewRows, SgemmWithATransposedBMatchesDoubleAcrossKernelsAndShapes) {
  check_shapes<float>();
}

// N·K over one panel of 2^20 floats: columns of C from two widened panels.
TEST(GemmF32Bf16, SeveralPanels) {
  check_case({9, 1100, 1024, 0, 1.f, 0.f});
  check_case({64, 1030, 2048, 2, 1.f, 1.f});
}

template <class W>
void check_threads() {
  const int threads = omp_get_max_threads();
  for (int64_t M = 1; M <= blas::kGemvF32MaxRows; ++M) {
    std::vector<float> one, many;
    omp_set_num_threads(1);
    check_case<W>({M, 301, 520, 0, 1.f, 0.f}, &one);
    omp_set_num_threads(std::max(2, threads));
    check_case<W>({M, 301, 520, 0, 1.f, 0.f}, &many);
    omp_set_num_threads(threads);
    EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0) << "M=" << M;
  }
}

TEST(GemmF32Bf16, StreamingBitsDoNotDependOnTheThreadCount) {
  check_threads<bf16>();
}
TEST(GemmF32FewRows, StreamingBitsDoNotDependOnTheThreadCount) {
  check_threads<float>();
}

template <class W>
void check_empty() {
  check_case<W>({0, 5, 8, 0, 1.f, 0.f});
  check_case<W>({3, 0, 8, 1, 1.f, 0.f});    // ldc at least 1
  check_case<W>({3, 5, 0, 1, 1.f, 0.25f});  // C = beta·C (lda, ldb at least 1)
  check_case<W>({9, 5, 0, 1, 1.f, 0.f});
}

TEST(GemmF32Bf16, EmptyDimensions) {
  check_empty<bf16>();
}
TEST(GemmF32FewRows, EmptyDimensions) {
  check_empty<float>();
}

// blas::gemm<float> with B not transposed (B stored (K,N)): the few-row kernel that keeps columns of C in
// registers (gemv_f32_nn) up to kGemvF32MaxRows rows, cblas_sgemm past them; the same bound and checks.
void check_nn(const Case& c, std::vector<float>* out = nullptr) {
  SCOPED_TRACE(::testing::Message() << "nn M=" << c.M << " N=" << c.N << " K=" << c.K << " pad=" << c.pad
                                    << " alpha=" << c.alpha << " beta=" << c.beta);
  Rng rng(static_cast<uint64_t>(c.M * 1000003 + c.N * 1009 + c.K * 7 + c.pad + 5));
  const int64_t lda = c.K + c.pad, ldb = c.N + c.pad, ldc = c.N + c.pad;
  const std::vector<float> A = random_floats(rng, c.M, c.K, lda), B = random_floats(rng, c.K, c.N, ldb);
  std::vector<float> C = fresh_c(rng, c, ldc);
  const std::vector<float> C0 = C;
  blas::gemm<float>(false, false, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(),
                    ldc);
  expect_product(
      c, A, lda, [&](int64_t k, int64_t j) { return B[k * ldb + j]; }, C0, C, ldc);
  if (out) *out = C;
}

TEST(GemmF32FewRows, SgemmWithBNotTransposedMatchesDouble) {
  for (int64_t M : {1, 2, 3, 4, 5, 6, 7})
    for (int64_t N : {1, 5, 8, 13, 47, 100})
      for (int64_t K : {1, 7, 64, 203})
        for (const auto& [pad, alpha, beta] : {std::tuple{0, 1.f, 0.f}, {3, 0.5f, 1.f}, {1, -2.f, 0.25f}})
          check_nn({M, N, K, pad, alpha, beta});
  check_nn({2, 5, 0, 1, 1.f, 0.25f});  // C = beta·C
}

TEST(GemmF32FewRows, NotTransposedBitsDoNotDependOnTheThreadCount) {
  const int threads = omp_get_max_threads();
  for (int64_t M = 1; M <= blas::kGemvF32MaxRows; ++M) {
    std::vector<float> one, many;
    omp_set_num_threads(1);
    check_nn({M, 301, 520, 0, 1.f, 0.f}, &one);
    omp_set_num_threads(std::max(2, threads));
    check_nn({M, 301, 520, 0, 1.f, 0.f}, &many);
    omp_set_num_threads(threads);
    EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0) << "M=" << M;
  }
}

TEST(GemmF32Bf16, BadShapesNameTheDimension) {
  float a[4] = {}, c[4] = {};
  bf16 b[4] = {};
  try {
    blas::gemm_f32_bf16(2, 2, 2, 1.f, a, 1, b, 2, 0.f, c, 2);
    FAIL() << "lda below K accepted";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "[gemm_f32_bf16] M=2 N=2 K=2 lda=1 ldb=2 ldc=2: lda is below the row length 2");
  }
  EXPECT_THROW(blas::gemm_f32_bf16(-1, 2, 2, 1.f, a, 2, b, 2, 0.f, c, 2), ShapeError);
}

}  // namespace
}  // namespace blt::test
