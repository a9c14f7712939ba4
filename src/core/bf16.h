// bf16: bfloat16 storage (1 sign, 8 exponent, 7 mantissa bits: the top half of
// a float32). It is a storage type only: nothing computes in bf16; values are
// widened to float32 to compute, and matrix engines (AMX, AVX512-BF16) take
// bf16 inputs and accumulate in float32 (blas/gemm_bf16.h).
#pragma once

#include <cstdint>
#include <cstring>

namespace blt {

struct bf16 {
  uint16_t bits = 0;
};
static_assert(sizeof(bf16) == 2);

// float32 -> bf16, rounded to nearest, ties to even; NaN stays a (quiet) NaN, ±inf stays ±inf.
inline bf16 to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<uint16_t>((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>(u >> 16)};
}

// bf16 -> float32, exact.
inline float to_float(bf16 b) {
  const uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The nearest bf16 value of f, as a float32 (test references: "bf16-rounded inputs").
inline float round_bf16(float f) { return to_float(to_bf16(f)); }

}  // namespace blt
