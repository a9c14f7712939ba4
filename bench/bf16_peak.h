// The bf16 matmul peak at a transformer's linear shapes, beside sgemm_peak.h's float32 one:
// blas::gemm_bf16 (oneDNN on AMX or AVX512-BF16) for y = x·Wᵀ with bf16 x and W and a float32 y.
// And, for "fp32 on OpenBLAS or on oneDNN, whichever measures faster", oneDNN's own f32 matmul at
// the same shapes (compare with sgemm_gflops of the same run).
#pragma once

#include <cstdint>

namespace blt::bench {

// GFLOP/s of y = x·Wᵀ at (rows, dim) × (dim -> dim), (dim -> ffn), (ffn -> dim), x and W in bf16.
// Needs blas::has_bf16_matmul() (blt::Error otherwise, from gemm_bf16).
double bf16_matmul_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds);

// GFLOP/s at those shapes of the three products a bf16 linear's forward and backward issue, alone (operands
// already in bf16): y = x·Wᵀ, dx += dy·W, dW += dyᵀ·x (ops::linear_forward_bf16 / linear_backward_bf16).
// The bf16 linear's figure over this one is what the op adds to oneDNN (roundings, gradient buffers).
double bf16_linear_products_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds);

// The float32 product at those shapes through oneDNN's f32 matmul (the primitive made once per shape).
double onednn_f32_matmul_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds);

}  // namespace blt::bench
