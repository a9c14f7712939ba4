// What the bf16 attention kernels share on AVX-512 (attention_amx*.cpp on AMX tiles,
// attention_avx512bf16.cpp on VDPBF16PS): the pair layout of bf16 operands, the short exp2 that feeds
// bf16 probabilities (the key-range mask of a score vector is attention_lanes.h's). Compiled for AVX512-BF16,
// a subset of the AMX kernels' target, so both inline them.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "ops/attention_lanes.h"

#define BLT_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

namespace blt::ops::detail {

// 16 words (a[c], b[c]) in bf16, c = 0..15: the pair layout of a tile operand or a VDPBF16PS operand.
BLT_AVX512_BF16 inline __m512i bf16_pairs(__m512 a, __m512 b) {
  alignas(64) static constexpr uint16_t kInterleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                                           21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                                           11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  return _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), (__m512i)_mm512_cvtne2ps_pbh(b, a));
}

// 2^t for t ≤ 12, 0 where t ≤ −126 or t is NaN (masked scores are −inf): 2^round(t) · 2^f with |f| ≤ 1/2 by
// a degree-4 Chebyshev fit of 2^f on [−1/2, 1/2], relative error < 2⁻¹⁸ (3.54e-6 with float32 evaluation,
// against the 3.81e-6 of 2⁻¹⁸). Enough for probabilities rounded to bf16 next (ops::exp_fast is the
// exact-to-a-few-ulp exp of the float kernels). The final mask zeroes t ≤ −126 whatever the polynomial
// made of it (NaN for t = −inf), so t needs no clamp.
BLT_AVX512_BF16 inline __m512 exp2_for_bf16(__m512 t) {
  const __m512 n = _mm512_maskz_roundscale_ps(0xffff, t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(9.66636836528778e-3f);  // highest degree first
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5921975523233414e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402234971523285e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931210160255432e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
  return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(t, _mm512_set1_ps(-126.f), _CMP_GT_OQ), p, n);
}

}  // namespace blt::ops::detail
