// Weights read per second by decoding's one-row products, y (1,N) = x (1,K) · wᵀ with w (N,K), through
// blas::gemm<float> (float32 weights: the streaming kernel of blas/gemv_f32.h on AVX2 CPUs, else
// cblas_sgemm) and blas::gemm_f32_bf16 (bf16 weights as stored, widened as read): each pass multiplies one x
// by every copy of w in a buffer much larger than the last-level cache, best of a few passes. bench
// generate sets them beside the read bandwidth: how close one product comes to the bound.
#pragma once

#include <cstdint>

namespace blt::bench {

struct DecodeProductOptions {
  int64_t N = 2048, K = 2048;        // one weight matrix (out, in), e.g. blt-1b's global wq
  int64_t bytes = int64_t{1} << 30;  // float32 weight copies to stream through (the bf16 ones are half)
  int passes = 3;                    // timed passes after one untimed pass (best taken)
};

struct DecodeProductRates {
  double f32_weights_gb_s = 0;   // blas::gemm<float>, 4 bytes per weight
  double bf16_weights_gb_s = 0;  // blas::gemm_f32_bf16, 2 bytes per weight
};

DecodeProductRates decode_product_rates(const DecodeProductOptions& opt = {});

}  // namespace blt::bench
