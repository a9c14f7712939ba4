// Few-row float32 products for cached decoding: C (M,N) f32 = alpha·A (M,K) f32 · B (N,K)ᵀ + beta·C with
// M <= kGemvF32MaxRows, the linear forward of one to a few rows, over float32 weights (blas::gemm<float>
// routes here) or bf16 ones widened to float32 as read (blas::gemm_f32_bf16). It is memory-bound (every
// weight read once per call), so it is an AVX2 kernel that streams several rows of B at once, split over
// the OpenMP threads by blocks of N. OpenBLAS's sgemm packs all of B for such a call (a copy of the
// weights per product) and reads the weights at about half the speed.
#pragma once

#include <cstdint>

#include "core/bf16.h"

namespace blt::blas {

// The most rows of A the kernel takes: 6 rows x 2 columns of 8-lane accumulators, the columns' weights and
// one row of A fill 15 of AVX2's 16 YMM registers.
inline constexpr int64_t kGemvF32MaxRows = 6;

// True where the CPU has AVX2 and FMA (checked once at run time).
bool has_gemv_f32();

// A (M,K) rows lda apart, B stored (N,K) rows ldb apart, C (M,N) rows ldc apart; 1 <= M <= kGemvF32MaxRows,
// N >= 1, K >= 0 (checked by the caller). C is not read when beta is 0. Each output is one thread's
// fixed-order sum: the bits do not depend on the thread count.
void gemv_f32(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
              int64_t ldb, float beta, float* C, int64_t ldc);
void gemv_f32(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const bf16* B,
              int64_t ldb, float beta, float* C, int64_t ldc);

// The same with B not transposed: B stored (K,N) rows ldb apart (a decoding step's P·V, a linear's dx).
void gemv_f32_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace blt::blas
