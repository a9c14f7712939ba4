// The register blocks of the lane-vector attention forwards (attention_f32.cpp in fp32,
// attention_avx512bf16.cpp on bf16 pairs): an item's 32 query rows are two vectors' lanes, a block holds
// the scores of up to kBlock keys, or Oᵀ of up to kBlock head columns, as two accumulators each. What
// differs between the two is only the inner product; the masking, the running max, the stores, the
// rescale of Oᵀ and the table of block sizes are here. Compiled for a subset of both kernels' targets.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "ops/attention_item.h"

#define BLT_AVX512_LANES __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

namespace blt::ops::detail {

constexpr int64_t kChunk = 96;  // keys per online-softmax step (even: bf16 pairs of keys)
constexpr int kBlock = 12;      // keys (QKᵀ) or head columns (PV) held in registers per pass

// The first min(n, 16) lanes (n ≥ 0): the mask of a row's tail.
inline __mmask16 first_lanes(int64_t n) {
  return n >= kLanes ? __mmask16{0xffff} : static_cast<__mmask16>((1u << n) - 1);
}

// Whether lanes' key ranges [lo, hi) hold key j: the mask of a score vector.
BLT_AVX512_LANES inline __mmask16 lanes_hold(__m512i lo, __m512i hi, int32_t j) {
  const __m512i key = _mm512_set1_epi32(j);
  return _mm512_cmple_epi32_mask(lo, key) & _mm512_cmpgt_epi32_mask(hi, key);
}

// st (N, 32) = scale·(a0, a1) for N keys from key index j0, masked to each lane's [lo, hi) when `mask`;
// mx (32) = max(mx, scores). (max: the zero-masked form with every lane selected, as _mm512_max_ps
// trips GCC 12's -Wuninitialized at -O3 through _mm512_undefined_ps.)
template <int N>
[[gnu::always_inline]] BLT_AVX512_LANES inline void store_scores(const __m512* a0, const __m512* a1,
                                                                 float scale, const Lanes& ln, int32_t j0,
                                                                 bool mask, float* st, float* mx) {
  const __m512 sc = _mm512_set1_ps(scale), ninf = _mm512_set1_ps(-INFINITY);
  const __m512i lo0 = _mm512_loadu_si512(ln.lo), lo1 = _mm512_loadu_si512(ln.lo + kLanes);
  const __m512i hi0 = _mm512_loadu_si512(ln.hi), hi1 = _mm512_loadu_si512(ln.hi + kLanes);
  __m512 m0 = _mm512_loadu_ps(mx), m1 = _mm512_loadu_ps(mx + kLanes);
  for (int n = 0; n < N; ++n) {
    __m512 s0 = _mm512_mul_ps(a0[n], sc), s1 = _mm512_mul_ps(a1[n], sc);
    if (mask) {
      s0 = _mm512_mask_mov_ps(ninf, lanes_hold(lo0, hi0, j0 + n), s0);
      s1 = _mm512_mask_mov_ps(ninf, lanes_hold(lo1, hi1, j0 + n), s1);
    }
    m0 = _mm512_maskz_max_ps(0xffff, m0, s0);
    m1 = _mm512_maskz_max_ps(0xffff, m1, s1);
    _mm512_storeu_ps(st + n * kRows, s0);
    _mm512_storeu_ps(st + n * kRows + kLanes, s1);
  }
  _mm512_storeu_ps(mx, m0);
  _mm512_storeu_ps(mx + kLanes, m1);
}

// (a0, a1) = alpha ∘ ot for N rows of ot (N, 32), per lane.
template <int N>
[[gnu::always_inline]] BLT_AVX512_LANES inline void load_rescaled(const float* ot, const float* alpha,
                                                                  __m512* a0, __m512* a1) {
  const __m512 al0 = _mm512_loadu_ps(alpha), al1 = _mm512_loadu_ps(alpha + kLanes);
  for (int n = 0; n < N; ++n) {
    a0[n] = _mm512_mul_ps(_mm512_loadu_ps(ot + n * kRows), al0);
    a1[n] = _mm512_mul_ps(_mm512_loadu_ps(ot + n * kRows + kLanes), al1);
  }
}

// ot (N, 32) = (a0, a1).
template <int N>
[[gnu::always_inline]] BLT_AVX512_LANES inline void store_rows(const __m512* a0, const __m512* a1,
                                                               float* ot) {
  for (int n = 0; n < N; ++n) {
    _mm512_storeu_ps(ot + n * kRows, a0[n]);
    _mm512_storeu_ps(ot + n * kRows + kLanes, a1[n]);
  }
}

// {make(1), ..., make(kBlock)}: make(n) (n an integral_constant) is a block function for n keys or columns.
template <class Fn, class Make, size_t... I>
constexpr std::array<Fn, sizeof...(I)> block_table(Make make, std::index_sequence<I...>) {
  return {make(std::integral_constant<int, static_cast<int>(I) + 1>{})...};
}
template <class Fn, class Make>
constexpr std::array<Fn, kBlock> block_table(Make make) {
  return block_table<Fn>(make, std::make_index_sequence<kBlock>{});
}

// Splits n into ceil(n / kBlock) near-equal blocks, fn(offset, size) for each.
template <class Fn>
void for_each_block(int64_t n, Fn&& fn) {
  const int64_t nb = (n + kBlock - 1) / kBlock;
  for (int64_t b = 0, off = 0; b < nb; ++b) {
    const int64_t size = n / nb + (b < n % nb ? 1 : 0);
    fn(off, size);
    off += size;
  }
}

}  // namespace blt::ops::detail
