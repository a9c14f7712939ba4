// exp that the compiler can vectorise (no libm call inside `omp simd` loops),
// used by the softmax-like kernels. float: Cody-Waite range reduction and a
// degree-6 polynomial, within a few ulp of expf everywhere (denormal results
// included); exp(-inf) = 0, exp(+inf) = inf, NaN stays NaN.
// double: std::exp (gradcheck and oracle runs).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace blt::ops {

inline float exp_fast(float x) {
  float xc = x < -104.0f ? -104.0f : (x > 88.8f ? 88.8f : x);
  // Round to nearest with the 1.5·2^23 trick (no libm call, vectorises).
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;  // ln2, high part (exact in float)
  r = r - n * -2.12194440e-4f;      // ln2, low part
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two normal factors so that n in [-150, 128] never overflows the exponent field.
  int32_t ni = static_cast<int32_t>(n);
  int32_t n1 = ni >> 1;
  int32_t n2 = ni - n1;
  float y = p * std::bit_cast<float>((n1 + 127) << 23) * std::bit_cast<float>((n2 + 127) << 23);
  y = x < -104.0f ? 0.0f : y;
  y = x > 88.8f ? INFINITY : y;
  return x != x ? x : y;
}

inline double exp_fast(double x) { return std::exp(x); }

}  // namespace blt::ops
