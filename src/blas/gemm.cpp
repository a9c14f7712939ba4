// CBLAS wrapper and naive reference GEMM. The wrapper checks that every int64
// dimension fits CBLAS's int before narrowing (ShapeError otherwise); a float
// product of a few rows of A (not transposed) goes to blas/gemv_f32.h.
#include "blas/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "blas/gemv_f32.h"
#include "core/error.h"

namespace blt::blas {

namespace {

// CBLAS takes int: every dimension and leading dimension must be in [0, INT_MAX],
// or the narrowing would silently wrap (a 2^32 + 1 row GEMM would run on one row).
void check_int_dims(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  const std::pair<const char*, int64_t> dims[] = {{"M", M}, {"N", N}, {"K", K}, {"lda", lda}, {"ldb", ldb}, {"ldc", ldc}};
  for (const auto& [what, v] : dims)
    if (v < 0 || v > std::numeric_limits<int>::max())
      throw ShapeError("[gemm] M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                       " lda=" + std::to_string(lda) + " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc) +
                       ": " + what + " is outside the int range of CBLAS");
}

}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_int_dims(M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  if (!ta && M <= kGemvF32MaxRows && has_gemv_f32()) {  // decoding's few rows: blas/gemv_f32.h
    if (tb) return gemv_f32(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return gemv_f32_nn(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
              alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                  const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  check_int_dims(M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
              alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

template <class T>
void gemm_naive(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        double a = ta ? A[k * lda + i] : A[i * lda + k];
        double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      T& c = C[i * ldc + j];
      c = static_cast<T>(alpha * acc + (beta == T(0) ? T(0) : beta * c));
    }
}

template void gemm_naive<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                                int64_t, float, float*, int64_t);
template void gemm_naive<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                 const double*, int64_t, double, double*, int64_t);

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace blt::blas
