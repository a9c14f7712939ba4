// The bf16 attention forward on AVX512-BF16 without AMX (Precision::BF16), the fp32 kernel's structure
// (attention_f32.cpp: 32 query rows of one head in two vectors' lanes, per-lane online softmax, chunks
// of up to 96 keys, register blocks of up to 12 keys or head columns) with both products on VDPBF16PS,
// which adds two bf16 products into each f32 lane: QKᵀ pairs along Dh (Qᵀ pairs × a broadcast pair of
// K), PV pairs along keys (Pᵀ pairs × a broadcast pair of V). Chunks start at even keys, so a pair
// never straddles two. Scores are kept in log2 units, P = 2^(y − m) rounded to bf16 (its f32 sum
// into l), as in attention_amx.cpp. k is converted to bf16 rows and v to key pairs once per call.
#include "ops/attention_avx512bf16.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "blas/cpu_features.h"
#include "core/bf16.h"
#include "ops/attention_amx.h"
#include "ops/attention_bf16.h"
#include "ops/attention_item.h"
#include "ops/attention_kernels.h"
#include "ops/attention_lanes.h"
#include "ops/parallel.h"

namespace blt::ops::detail {

namespace {

// One (batch, kv head)'s keys X (Tk rows ld apart) in pairs: pairs_per_head(d) words out.
BLT_AVX512_BF16 void pack_head_pairs(const float* X, int64_t ld, int64_t Tk, int64_t Dh, uint32_t* out) {
  for (int64_t i = 0; i < (Tk + 1) / 2; ++i)
    for (int64_t c = 0; c < Dh; c += kLanes) {
      const __mmask16 m = first_lanes(Dh - c);
      const __m512 even = _mm512_maskz_loadu_ps(m, X + 2 * i * ld + c);
      const __m512 odd =
          2 * i + 1 < Tk ? _mm512_maskz_loadu_ps(m, X + (2 * i + 1) * ld + c) : _mm512_setzero_ps();
      _mm512_mask_storeu_epi32(out + i * Dh + c, m, bf16_pairs(even, odd));
    }
}

}  // namespace

void pack_key_pairs(const AttnDims& d, const float* x, uint32_t* xp, bool parallel) {
  const int64_t ld = d.Hkv * d.Dh;
  parallel_for(d.B * d.Hkv, parallel, [&](int64_t bg) {
    pack_head_pairs(x + bg / d.Hkv * d.Tk * ld + bg % d.Hkv * d.Dh, ld, d.Tk, d.Dh,
                    xp + bg * pairs_per_head(d));
  });
}

// Per row, 32 floats at a time rounded to 32 bf16 in order (16 pairs), the pairs then stored a column apart.
BLT_AVX512_BF16 void load_dh_pairs(const AttnDims& d, const float* x, const ItemRows& it, uint32_t* xp) {
  const int64_t ldq = d.Hq * d.Dh;
  const float* X = x + (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  alignas(64) uint32_t words[kLanes];
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t c0 = 0; c0 < d.Dh; c0 += 2 * kLanes) {
      const int64_t n = std::min<int64_t>(2 * kLanes, d.Dh - c0);  // even
      const __mmask16 lo = first_lanes(n), hi = first_lanes(std::max<int64_t>(n - kLanes, 0));
      const float* row = X + r * ldq + c0;
      const bool live = r < it.nq;
      const __m512 a = live ? _mm512_maskz_loadu_ps(lo, row) : _mm512_setzero_ps();
      const __m512 b = live ? _mm512_maskz_loadu_ps(hi, row + kLanes) : _mm512_setzero_ps();
      _mm512_store_si512(words, (__m512i)_mm512_cvtne2ps_pbh(b, a));
      for (int64_t i = 0; i < n / 2; ++i) xp[(c0 / 2 + i) * kRows + r] = words[i];
    }
}

namespace {

// Below this many multiply-adds a call runs on one thread: fork/join would cost more than it saves.
constexpr double kParallelWork = 1 << 18;

// From st (nk, 32) (nk even, log2 units): m_new = max(m, mx) per lane (0 where still −inf, so that
// fully masked lanes give P = 0), pp (nk/2, 32) = pairs of P = 2^(y − m_new) in bf16, alpha = 2^(m − m_new),
// l = alpha·l + Σ_j P (unrounded); m = m_new.
BLT_AVX512_BF16 void softmax_pairs(const float* st, int64_t nk, const float* mx, LaneState& s, uint32_t* pp) {
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  for (int h = 0; h < kRows; h += kLanes) {
    const __m512 m = _mm512_loadu_ps(s.m + h),
                 m_new = _mm512_maskz_max_ps(0xffff, m, _mm512_loadu_ps(mx + h));
    const __m512 mu =
        _mm512_mask_mov_ps(m_new, _mm512_cmp_ps_mask(m_new, ninf, _CMP_EQ_OQ), _mm512_setzero_ps());
    const __m512 alpha = exp2_for_bf16(_mm512_sub_ps(m, mu));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < nk / 2; ++i) {
      const __m512 even = exp2_for_bf16(_mm512_sub_ps(_mm512_loadu_ps(st + 2 * i * kRows + h), mu));
      const __m512 odd = exp2_for_bf16(_mm512_sub_ps(_mm512_loadu_ps(st + (2 * i + 1) * kRows + h), mu));
      sum = _mm512_add_ps(sum, _mm512_add_ps(even, odd));
      _mm512_storeu_si512(pp + i * kRows + h, bf16_pairs(even, odd));
    }
    _mm512_storeu_ps(s.alpha + h, alpha);
    _mm512_storeu_ps(s.l + h, _mm512_fmadd_ps(_mm512_loadu_ps(s.l + h), alpha, sum));
    _mm512_storeu_ps(s.m + h, m_new);
  }
}

// k in bf16 rows (attention_amx.h's layout, zero rows past the last) and v in key pairs, per call.
struct Packed {
  const bf16* k;
  const uint32_t* vp;
};

Packed pack(const AttnDims& d, const float* k, const float* v, bool parallel) {
  static thread_local std::vector<bf16> kb;
  static thread_local std::vector<uint32_t> vp;
  kb.resize(amx::rows_size(d));
  vp.resize(d.B * d.Hkv * pairs_per_head(d));
  amx::pack_rows(d, k, kb.data(), parallel);
  pack_key_pairs(d, v, vp.data(), parallel);
  return {kb.data(), vp.data()};
}

// One thread's item scratch: Qᵀ pairs (Dh/2, kRows), Oᵀ (Dh, kRows), the chunk's scores (kChunk, kRows)
// and probability pairs (kChunk/2, kRows).
struct ItemScratch {
  std::vector<uint32_t> qp, pp;
  std::vector<float> ot, st;
};

// Item `item` (see ItemRows): every chunk of its keys through QKᵀ, softmax and PV, then the output.
void forward_item(const AttnDims& d, const ForwardIo<float>& io, const Packed& pk, int64_t item,
                  ItemScratch& sc) {
  const ItemRows it = item_rows(d, item, kRows);
  Lanes ln;
  const KeyUnion u = lane_ranges(io.ranges + it.b * d.Tq + it.t0, it.nq, ln);
  load_dh_pairs(d, io.q, it, sc.qp.data());
  std::fill(sc.ot.begin(), sc.ot.end(), 0.f);
  LaneState s;
  const int64_t ld = d.Dh, g = it.h / (d.Hq / d.Hkv);
  const bf16* K = pk.k + amx::head_rows(d, it.b, g);                     // key j's row at K + j·ld
  const uint32_t* VP = pk.vp + (it.b * d.Hkv + g) * pairs_per_head(d);   // pair i's row at VP + i·Dh
  const float scale = static_cast<float>(d.scale * 1.4426950408889634);  // to log2 units
  alignas(64) float mx[kRows];
  for (int32_t j0 = u.lo & ~1; j0 < u.hi; j0 += static_cast<int32_t>(kChunk)) {
    const int64_t nk = std::min<int64_t>(kChunk, (u.hi - j0 + 1) & ~1);  // even: may take key Tk (masked)
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(nk));
    std::fill(mx, mx + kRows, -INFINITY);
    for_each_block(nk, [&](int64_t off, int64_t n) {
      kQkPairs[n - 1](sc.qp.data(), d.Dh, K + (j0 + off) * ld, ld, j0 + static_cast<int32_t>(off), ln, mask,
                      scale, sc.st.data() + off * kRows, mx);
    });
    softmax_pairs(sc.st.data(), nk, mx, s, sc.pp.data());
    for_each_block(d.Dh, [&](int64_t c0, int64_t n) {
      kPvPairs[n - 1](sc.pp.data(), nk / 2, VP + j0 / 2 * d.Dh + c0, d.Dh, s.alpha,
                      sc.ot.data() + c0 * kRows);
    });
  }
  for (int r = 0; r < kRows; ++r) s.m[r] *= 0.6931471805599453f;  // log2 -> natural units for the lse
  store_output(d, it, s, sc.ot.data(), kRows, io.out, io.lse);
}

}  // namespace

bool use_attention_avx512bf16(const AttnDims& d) {
  static const bool isa = blas::cpu_has_avx512_bf16() && __builtin_cpu_supports("avx512vl");
  return d.Dh % 2 == 0 && d.Tq >= kMinRows && isa;
}

void attention_forward_avx512bf16(const AttnDims& d, const float* q, const float* k, const float* v,
                                  const KeyRange* ranges, float* out, float* lse) {
  const ForwardIo<float> io{q, k, v, ranges, out, lse};
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, kParallelWork);
  const Packed pk = pack(d, k, v, parallel);
  // One work item per (batch, head, block of kRows query rows); items write disjoint rows of out and lse.
  parallel_for<Schedule::Dynamic>(d.B * d.Hq * n_row_blocks(d, kRows), parallel, [&](int64_t item) {
    static thread_local ItemScratch sc;
    sc.qp.resize(d.Dh / 2 * kRows);
    sc.pp.resize(kChunk / 2 * kRows);
    sc.ot.resize(d.Dh * kRows);
    sc.st.resize(kChunk * kRows);
    forward_item(d, io, pk, item, sc);
  });
}

}  // namespace blt::ops::detail
