// float32 <-> bf16 arrays (blas::to_bf16 / blas::to_float). The portable path is the scalar
// conversion of core/bf16.h in a loop; with AVX512-BF16 (chosen at run time) 16 floats go
// through one VCVTNEPS2BF16. That instruction rounds to nearest even like the scalar, but
// flushes denormal inputs to ±0: a block holding a denormal is redone by the scalar loop,
// so both paths give identical bits for every input (tests/blas/test_gemm_bf16.cpp checks).
#include <immintrin.h>

#include <cstring>

#include "blas/cpu_features.h"
#include "blas/gemm_bf16.h"

namespace blt::blas {

namespace {

void to_bf16_scalar(const float* x, bf16* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = blt::to_bf16(x[i]);
}

void to_float_scalar(const bf16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = blt::to_float(x[i]);
}

// x (n) -> y (n); blocks of 16, the tail and blocks holding a denormal by the scalar loop.
__attribute__((target("avx512bf16,avx512f,avx512bw"))) void to_bf16_avx512(const float* x, bf16* y, int64_t n) {
  const __m512i exponent = _mm512_set1_epi32(0x7f800000), mantissa = _mm512_set1_epi32(0x007fffff);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512i u = _mm512_castps_si512(v);
    const __mmask16 normal_or_special = _mm512_test_epi32_mask(u, exponent);
    const __mmask16 denormal = _mm512_mask_test_epi32_mask(static_cast<__mmask16>(~normal_or_special), u, mantissa);
    if (denormal) {
      to_bf16_scalar(x + i, y + i, 16);
      continue;
    }
    const __m256bh r = _mm512_cvtneps_pbh(v);
    std::memcpy(static_cast<void*>(y + i), &r, sizeof r);
  }
  to_bf16_scalar(x + i, y + i, n - i);
}

// x (n) -> y (n): widen each 16-bit pattern to the top half of a 32-bit lane (exact).
__attribute__((target("avx512f"))) void to_float_avx512(const bf16* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    // The maskz forms (all lanes) say the same as the plain ones without GCC 12's false
    // -Wmaybe-uninitialized on their _mm512_undefined_epi32() pass-through (GCC bug 105593).
    const __m512i wide = _mm512_maskz_cvtepu16_epi32(0xffff, h);
    _mm512_storeu_si512(y + i, _mm512_maskz_slli_epi32(0xffff, wide, 16));
  }
  to_float_scalar(x + i, y + i, n - i);
}

}  // namespace

void to_bf16(const float* x, bf16* y, int64_t n) {
  if (cpu_has_avx512_bf16())
    to_bf16_avx512(x, y, n);
  else
    to_bf16_scalar(x, y, n);
}

void to_float(const bf16* x, float* y, int64_t n) {
  if (cpu_has_avx512_bf16())
    to_float_avx512(x, y, n);
  else
    to_float_scalar(x, y, n);
}

}  // namespace blt::blas
