// The single GEMM entry point: C = alpha·op(A)·op(B) + beta·C, row-major,
// op(X) = X or Xᵀ. float goes to cblas_sgemm (a few rows of A, not transposed: a
// decoding step's linear or P·V, to the kernels of blas/gemv_f32.h on AVX2 CPUs),
// double to cblas_dgemm.
// gemm_naive is the plain triple loop kept beside it as the spec and test oracle.
#pragma once

#include <cstdint>

namespace blt::blas {

// A is (M,K) or, transposed, stored (K,M); B is (K,N) or stored (N,K); C is (M,N).
// ShapeError if any of M, N, K, lda, ldb, ldc is negative or above INT_MAX (CBLAS takes int).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

template <class T>
void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Threads used by OpenMP regions and by BLAS outside them.
void set_num_threads(int n);
int num_threads();

}  // namespace blt::blas
