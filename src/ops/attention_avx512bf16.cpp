// The bf16 attention forward on AVX512-BF16 without AMX (Precision::BF16), the fp32 kernel's structure
// (attention_f32.cpp: 32 query rows of one head in two vectors' lanes, per-lane online softmax, chunks
// of up to 96 keys, register blocks of up to 12 keys or head columns) with both products on VDPBF16PS,
// which adds two bf16 products into each f32 lane: QKᵀ pairs along Dh (Qᵀ pairs × a broadcast pair of
// K), PV pairs along keys (Pᵀ pairs × a broadcast pair of V). Chunks start at even keys, so a pair
// never straddles two. Scores are kept in log2 units, P = 2^(y − m) rounded to bf16 (its f32 sum
// into l), as in attention_amx.cpp. k is converted to bf16 rows and v to key pairs once per call.
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

// Below this many multiply-adds a call runs on one thread: fork/join would cost more than it saves.
constexpr double kParallelWork = 1 << 18;

// (lo, hi) rounded to bf16 (RNE) in one 32-bit word, lo in the low half: one VDPBF16PS pair.
uint32_t pair_word(float lo, float hi) {
  return static_cast<uint32_t>(to_bf16(lo).bits) | static_cast<uint32_t>(to_bf16(hi).bits) << 16;
}

// The bf16 pair at p in every lane.
BLT_AVX512_BF16 inline __m512i broadcast_pair(const void* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return _mm512_set1_epi32(static_cast<int>(w));
}

// acc + a.lo·b.lo + a.hi·b.hi per lane (a, b bf16 pairs; products exact, sums in f32).
BLT_AVX512_BF16 inline __m512 dp(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

// v (B,Tk,Hkv,Dh) -> per (batch, kv head) (Tk/2 rounded up, Dh) words (v[2i][c], v[2i+1][c]) in bf16,
// key Tk zero: the broadcast operand of PV. pairs_per_head(d) words each.
int64_t pairs_per_head(const AttnDims& d) {
  return (d.Tk + 1) / 2 * d.Dh;
}

void pack_v_pairs(const AttnDims& d, const float* v, uint32_t* vp, bool parallel) {
  const int64_t ld = d.Hkv * d.Dh, n_pairs = (d.Tk + 1) / 2;
  parallel_for(d.B * d.Hkv, parallel, [&](int64_t bg) {
    const float* V = v + bg / d.Hkv * d.Tk * ld + bg % d.Hkv * d.Dh;
    uint32_t* out = vp + bg * pairs_per_head(d);
    for (int64_t i = 0; i < n_pairs; ++i)
      for (int64_t c = 0; c < d.Dh; ++c)
        out[i * d.Dh + c] = pair_word(V[2 * i * ld + c], 2 * i + 1 < d.Tk ? V[(2 * i + 1) * ld + c] : 0.f);
  });
}

// qp (Dh/2, 32): the item's query rows as pairs (q[r][2i], q[r][2i+1]), lanes past nq zero.
void load_q_pairs(const AttnDims& d, const float* q, const ItemRows& it, uint32_t* qp) {
  const int64_t ldq = d.Hq * d.Dh;
  const float* Q = q + (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t i = 0; i < d.Dh / 2; ++i)
      qp[i * kRows + r] = r < it.nq ? pair_word(Q[r * ldq + 2 * i], Q[r * ldq + 2 * i + 1]) : 0u;
}

// st (n, 32) = y-scaled scores (y = scale·log2e·q·k) of n keys (bf16 rows ldk apart, from key index j0)
// for the item's 32 lanes, from qp (Dh/2, 32). Masked to each lane's [lo, hi) when `mask`;
// mx (32) = max(mx, scores).
template <int N>
BLT_AVX512_BF16 void qk_block(const uint32_t* qp, int64_t Dh, const bf16* K, int64_t ldk, int32_t j0,
                              const Lanes& ln, bool mask, float scale, float* st, float* mx) {
  __m512 a0[N], a1[N];
  for (int n = 0; n < N; ++n) a0[n] = a1[n] = _mm512_setzero_ps();
  for (int64_t i = 0; i < Dh / 2; ++i) {
    const __m512i q0 = _mm512_loadu_si512(qp + i * kRows), q1 = _mm512_loadu_si512(qp + i * kRows + kLanes);
#pragma GCC unroll 12
    for (int n = 0; n < N; ++n) {
      const __m512i kb = broadcast_pair(K + n * ldk + 2 * i);
      a0[n] = dp(a0[n], q0, kb);
      a1[n] = dp(a1[n], q1, kb);
    }
  }
  store_scores<N>(a0, a1, scale, ln, j0, mask, st, mx);
}

// ot (N, 32) = alpha ∘ ot + Σ_i pp[i] · (V[2i][0..N), V[2i+1][0..N)) over n_pairs key pairs (vp rows Dh
// words apart), per lane.
template <int N>
BLT_AVX512_BF16 void pv_block(const uint32_t* pp, int64_t n_pairs, const uint32_t* vp, int64_t Dh,
                              const float* alpha, float* ot) {
  __m512 a0[N], a1[N];
  load_rescaled<N>(ot, alpha, a0, a1);
  for (int64_t i = 0; i < n_pairs; ++i) {
    const __m512i p0 = _mm512_loadu_si512(pp + i * kRows), p1 = _mm512_loadu_si512(pp + i * kRows + kLanes);
#pragma GCC unroll 12
    for (int n = 0; n < N; ++n) {
      const __m512i vb = _mm512_set1_epi32(static_cast<int>(vp[i * Dh + n]));
      a0[n] = dp(a0[n], p0, vb);
      a1[n] = dp(a1[n], p1, vb);
    }
  }
  store_rows<N>(a0, a1, ot);
}

using QkFn = void (*)(const uint32_t*, int64_t, const bf16*, int64_t, int32_t, const Lanes&, bool, float,
                      float*, float*);
using PvFn = void (*)(const uint32_t*, int64_t, const uint32_t*, int64_t, const float*, float*);

constexpr auto kQk = block_table<QkFn>([](auto n) { return &qk_block<n()>; });
constexpr auto kPv = block_table<PvFn>([](auto n) { return &pv_block<n()>; });

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
  pack_v_pairs(d, v, vp.data(), parallel);
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
  load_q_pairs(d, io.q, it, sc.qp.data());
  std::fill(sc.ot.begin(), sc.ot.end(), 0.f);
  LaneState s;
  const int64_t ld = d.Hkv * d.Dh, g = it.h / (d.Hq / d.Hkv);
  const bf16* K = pk.k + it.b * d.Tk * ld + g * d.Dh;                    // key j's row at K + j·ld
  const uint32_t* VP = pk.vp + (it.b * d.Hkv + g) * pairs_per_head(d);   // pair i's row at VP + i·Dh
  const float scale = static_cast<float>(d.scale * 1.4426950408889634);  // to log2 units
  alignas(64) float mx[kRows];
  for (int32_t j0 = u.lo & ~1; j0 < u.hi; j0 += static_cast<int32_t>(kChunk)) {
    const int64_t nk = std::min<int64_t>(kChunk, (u.hi - j0 + 1) & ~1);  // even: may take key Tk (masked)
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(nk));
    std::fill(mx, mx + kRows, -INFINITY);
    for_each_block(nk, [&](int64_t off, int64_t n) {
      kQk[n - 1](sc.qp.data(), d.Dh, K + (j0 + off) * ld, ld, j0 + static_cast<int32_t>(off), ln, mask, scale,
                 sc.st.data() + off * kRows, mx);
    });
    softmax_pairs(sc.st.data(), nk, mx, s, sc.pp.data());
    for_each_block(d.Dh, [&](int64_t c0, int64_t n) {
      kPv[n - 1](sc.pp.data(), nk / 2, VP + j0 / 2 * d.Dh + c0, d.Dh, s.alpha, sc.ot.data() + c0 * kRows);
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
