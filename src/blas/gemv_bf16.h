// Few-row bf16 products for cached decoding: C (M,N) f32 = alpha·A (M,K)·B (N,K)ᵀ + beta·C with
// M <= kGemvMaxRows, the linear forward of one to a few rows. It is memory-bound (every weight
// read once per call), so it is an AVX512-BF16 kernel (VDPBF16PS, float32 accumulation) that
// streams several rows of B at once, split over the OpenMP threads by blocks of N (no software
// prefetch: the hardware's, on these sequential rows, already reaches the measured read bandwidth
// at M = 1). oneDNN's matmul reads those weights 1.2-1.8x slower. gemm_bf16 routes here.
#pragma once

#include <cstdint>

#include "core/bf16.h"

namespace blt::blas {

// The most rows of A the kernel takes; larger M goes to oneDNN. Measured on an AMD EPYC (AVX512-BF16,
// 2 threads) at blt-1b's matrix shapes: the kernel reads weights 1.2-1.8x faster than oneDNN up to
// M = 7 (7 x 4 accumulators still fit the 32 ZMM registers); at M = 8 oneDNN is as fast or faster.
inline constexpr int64_t kGemvMaxRows = 7;

// True where the CPU has AVX512-BF16 (checked once at run time).
bool has_gemv_bf16();

// A (M,K) bf16 rows lda apart, B stored (N,K) rows ldb apart, C (M,N) f32 rows ldc apart;
// 1 <= M <= kGemvMaxRows, N >= 1, K >= 1 (checked by the caller). C is not read when beta is 0.
void gemv_bf16(int64_t M, int64_t N, int64_t K, float alpha, const bf16* A, int64_t lda, const bf16* B,
               int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace blt::blas
