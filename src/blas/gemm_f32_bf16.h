// float32 products with bf16 weights, for CPUs without a bf16 matrix engine (or graphs at fp32 over
// weights used as stored): C (M,N) f32 = alpha·A (M,K) f32 · B (N,K)ᵀ + beta·C, B in bf16. Each weight
// widens to float32 exactly (bf16 is float32's top half), so the products are float32 products of the
// stored values: the weights stay half the size in memory, and a decoding step reads half the bytes.
//   M <= kGemvF32MaxRows on an AVX2 CPU: the streaming kernel of blas/gemv_f32.h, which widens B in
//     registers (decoding's one to a few rows; memory-bound, every weight read once);
//   otherwise: B widened panel by panel (about 4 MiB of float32 each, a per-thread buffer reused across
//     calls) into cblas_sgemm (blas::gemm).
#pragma once

#include <cstdint>

#include "core/bf16.h"

namespace blt::blas {

// A (M,K) f32 rows lda apart, B stored (N,K) bf16 rows ldb apart, C (M,N) f32 rows ldc apart. C is not read
// when beta is 0. ShapeError on a negative dimension or a leading dimension below its row length.
void gemm_f32_bf16(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const bf16* B,
                   int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace blt::blas
