// float32 <-> bf16 arrays (blas::to_bf16 / blas::to_float). The portable path is the scalar
// conversion of core/bf16.h in a loop; with AVX512-BF16 (chosen at run time) 16 floats go
// through one VCVTNEPS2BF16. That instruction rounds to nearest even like the scalar, but
// flushes denormal inputs to ±0: a block holding a denormal is redone by the scalar loop,
// so both paths give identical bits for every input (tests/blas/test_gemm_bf16.cpp checks).
// Long arrays (the weight mirror, activations feeding a bf16 matmul) are split across the
// OpenMP threads in blocks of 16; every element converts on its own, so the bits do not change.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>

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

// Below this many elements a conversion runs on the calling thread (a team costs microseconds).
constexpr int64_t kParallelElems = 1 << 16;

// f (x + b, y + b, e - b) over [0, n), split into one block per thread (block starts multiples of 16)
// when n is long and the caller is not already inside a parallel region.
template <class From, class To, class F>
void split(const From* x, To* y, int64_t n, F f) {
  const int threads = omp_get_max_threads();
  if (n < kParallelElems || threads < 2 || omp_in_parallel()) return f(x, y, n);
  const int64_t per = (n / threads + 15) / 16 * 16;
#pragma omp parallel num_threads(threads)
  {
    const int64_t b = std::min(n, omp_get_thread_num() * per), e = std::min(n, b + per);
    if (e > b) f(x + b, y + b, e - b);
  }
}

}  // namespace

void to_bf16(const float* x, bf16* y, int64_t n) {
  split(x, y, n, cpu_has_avx512_bf16() ? to_bf16_avx512 : to_bf16_scalar);
}

void to_float(const bf16* x, float* y, int64_t n) {
  split(x, y, n, cpu_has_avx512_bf16() ? to_float_avx512 : to_float_scalar);
}

}  // namespace blt::blas
