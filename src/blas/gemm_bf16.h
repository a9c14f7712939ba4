// bf16 matrix products on the CPU's matrix engines: C (f32) = alpha·op(A)·op(B) + beta·C
// with A, B in bf16 and float32 accumulation, through oneDNN's matmul (AMX-BF16 or
// AVX512-BF16, chosen by oneDNN at run time). Row-major, same conventions as blas::gemm.
// Primitives are created once per (shape, transposes, leading dimensions, beta != 0)
// and cached; a few rows times a transposed B (decoding's linear forward) take an
// AVX512-BF16 kernel instead (blas/gemv_bf16.h). Conversions between float32 and bf16 arrays are here too, vectorised with
// AVX512-BF16 where the CPU has it and portable otherwise (bit-identical either way).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bf16.h"

namespace blt::blas {

// True when this CPU runs bf16 matmuls on a matrix engine (AMX-BF16 or AVX512-BF16).
// Without it, callers use float32 (and say so once, as --precision's resolution does).
bool has_bf16_matmul();
// What the CPU offers, for notices and benchmarks: "amx_bf16", "avx512_bf16" or "none".
std::string bf16_isa();

// A is (M,K) or, transposed, stored (K,M); B is (K,N) or stored (N,K); C is (M,N), float32.
// ShapeError on a negative dimension or a leading dimension below its row length (lda < K
// when A is not transposed, ...); blt::Error if !has_bf16_matmul().
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const bf16* A,
               int64_t lda, const bf16* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Primitives in gemm_bf16's cache (at most 256, least recently used dropped first; tests).
size_t gemm_bf16_cache_size();

// y[i] = to_bf16(x[i]) (round to nearest even), and back (exact). n may be 0.
void to_bf16(const float* x, bf16* y, int64_t n);
void to_float(const bf16* x, float* y, int64_t n);

}  // namespace blt::blas
