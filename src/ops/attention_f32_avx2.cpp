// The fp32 attention forward on AVX2 (CPUs without AVX-512): attention_f32.cpp's scheme at half the
// vector width, through the same item loop (attention_lane_loop.h), with the register blocks of
// attention_avx2.h: a work item is 16 query rows of one head; per chunk of up to 96 keys, the scores in
// blocks of up to 6 keys, P = exp(S − m) on 8-lane vectors, then O = α·O + P V in blocks of up to 6 head
// columns.
#include <cmath>

#include "ops/attention_avx2.h"
#include "ops/attention_kernels.h"

namespace blt::ops::detail {

namespace {

using namespace avx2;

// SoftmaxFn for 16 rows, a vector of 8 at a time.
BLT_AVX2 void softmax_chunk(float* st, int64_t nk, const float* mx, LaneState& s) {
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  for (int h = 0; h < kItemRows; h += kWidth) {
    const __m256 m = _mm256_loadu_ps(s.m + h), m_new = _mm256_max_ps(_mm256_loadu_ps(mx + h), m);
    const __m256 mu = _mm256_blendv_ps(m_new, _mm256_setzero_ps(), _mm256_cmp_ps(m_new, ninf, _CMP_EQ_OQ));
    const __m256 alpha = exp8(_mm256_sub_ps(m, mu));
    __m256 sum = _mm256_setzero_ps();
    for (int64_t j = 0; j < nk; ++j) {
      const __m256 p = exp8(_mm256_sub_ps(_mm256_loadu_ps(st + j * kItemRows + h), mu));
      _mm256_storeu_ps(st + j * kItemRows + h, p);
      sum = _mm256_add_ps(sum, p);
    }
    _mm256_storeu_ps(s.alpha + h, alpha);
    _mm256_storeu_ps(s.m + h, m_new);
    _mm256_storeu_ps(s.l + h, _mm256_fmadd_ps(_mm256_loadu_ps(s.l + h), alpha, sum));
  }
}

// StoreFn for 16 rows: each output row gathered from Oᵀ's columns (a small part of an item's work).
void store_rows(const AttnDims& d, const ItemRows& it, const LaneState& s, const float* ot, float* out,
                float* lse) {
  const int64_t ldq = d.Hq * d.Dh;
  float* O = out + (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  float* L = lse + (it.b * d.Hq + it.h) * d.Tq + it.t0;
  for (int64_t r = 0; r < it.nq; ++r) {
    const float inv = s.l[r] > 0 ? 1.f / s.l[r] : 0.f;
    for (int64_t c = 0; c < d.Dh; ++c) O[r * ldq + c] = ot[c * kItemRows + r] * inv;
    L[r] = s.l[r] > 0 ? s.m[r] + std::log(s.l[r]) : -INFINITY;
  }
}

struct Avx2 {
  static constexpr int kRows = kItemRows, kBlock = kRegBlock;
  static constexpr auto qk = qk_blocks;
  static constexpr auto pv = pv_blocks;
  static constexpr SoftmaxFn softmax = &softmax_chunk;
  static constexpr StoreFn store = &store_rows;
};

}  // namespace

bool use_attention_f32_avx2(const AttnDims& d) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return d.Tq >= kMinRows && avx2;
}

void attention_forward_f32_avx2(const AttnDims& d, const float* q, const float* k, const float* v,
                                const KeyRange* ranges, float* out, float* lse) {
  lane_forward<Avx2>(d, {q, k, v, ranges, out, lse});
}

}  // namespace blt::ops::detail
