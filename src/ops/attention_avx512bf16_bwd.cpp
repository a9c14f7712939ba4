// The bf16 attention backward on AVX512-BF16 without AMX (Precision::BF16), flash-attention style from
// the forward's log-sum-exp, attention_backward_amx's contract with the five products on VDPBF16PS. A
// work item is 32 query rows of one head (the lanes of two vectors), the heads of one row block in
// consecutive items (their rows share cache lines); per chunk of up to 96 keys:
// y = scale·log2e·S and dP = dO Vᵀ (qk_block: the rows' pairs along Dh), P = 2^(y − lse2) and
// dS = scale·P ∘ (dP − D), D = rowsum(dO ∘ O), per lane in f32 and rounded to bf16, dQᵀ += dS K (pv_block:
// dS pairs along keys, K in key pairs), and per key dV += Pᵀ dO and dK += dSᵀ Q with the head columns in
// the lanes (the rows' pairs of dO or Q × a broadcast pair of P or dS over two rows). dQᵀ is per item,
// added to dq at its end; dK and dV are per thread (attention_kv_grads.h).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/attention_amx.h"
#include "ops/attention_avx512bf16.h"
#include "ops/attention_kernels.h"
#include "ops/attention_kv_grads.h"
#include "ops/parallel.h"

namespace blt::ops::detail {

namespace {

constexpr double kParallelWork = 1 << 18;
using amx::kMaxDh;  // the largest head dim this backward takes too (Dh a multiple of 16)
constexpr float kLog2e = 1.4426950408889634f;

// k and v in bf16 rows (attention_amx.h's layout, zero rows past the last), k in key pairs, per call.
struct Packed {
  const bf16 *k, *v;
  const uint32_t* kp;
};

Packed pack(const AttnDims& d, const float* k, const float* v, bool parallel) {
  static thread_local std::vector<bf16> rows;
  static thread_local std::vector<uint32_t> kp;
  rows.resize(2 * amx::rows_size(d));
  kp.resize(d.B * d.Hkv * pairs_per_head(d));
  amx::pack_rows(d, k, rows.data(), parallel);
  amx::pack_rows(d, v, rows.data() + amx::rows_size(d), parallel);
  pack_key_pairs(d, k, kp.data(), parallel);
  return {rows.data(), rows.data() + amx::rows_size(d), kp.data()};
}

// One thread's item scratch.
struct ItemScratch {
  alignas(64) uint32_t qp[kMaxDh / 2 * kRows];   // Q pairs along Dh (Dh/2, 32)
  alignas(64) uint32_t dop[kMaxDh / 2 * kRows];  // dO pairs along Dh
  alignas(64) uint32_t qr[kRows / 2 * kMaxDh];   // Q row pairs (16, Dh): (q[2i][c], q[2i+1][c])
  alignas(64) uint32_t dor[kRows / 2 * kMaxDh];  // dO row pairs
  alignas(64) float st[kChunk * kRows];          // y per key (nk, 32), masked to −inf
  alignas(64) float dpt[kChunk * kRows];         // dP per key
  alignas(64) uint32_t dsp[kChunk / 2 * kRows];  // dS pairs along keys (nk/2, 32)
  alignas(64) bf16 pt[kChunk * kRows];           // per key, the 32 rows' P in bf16: row pairs as words
  alignas(64) bf16 dst[kChunk * kRows];          // per key, dS the same way
  alignas(64) float dqt[kMaxDh * kRows];         // dQᵀ (Dh, 32)
  alignas(64) float lse2[kRows];                 // lse in log2 units; +inf for rows without keys
  alignas(64) float dr[kRows];                   // D
  alignas(64) float mx[kRows];                   // qk_block's running max (unused here)
  alignas(64) float ones[kRows];                 // pv_block's rescale factor: none
};

// xr (16, Dh): the rows X[0..n) (ld apart, rows past n zero) in pairs of rows (x[2i][c], x[2i+1][c]).
BLT_AVX512_BF16 void load_row_pairs(const float* X, int64_t ld, int64_t n, int64_t Dh, uint32_t* xr) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t i = 0; i < kRows / 2; ++i)
    for (int64_t c = 0; c < Dh; c += kLanes) {
      const __m512 even = 2 * i < n ? _mm512_loadu_ps(X + 2 * i * ld + c) : zero;
      const __m512 odd = 2 * i + 1 < n ? _mm512_loadu_ps(X + (2 * i + 1) * ld + c) : zero;
      _mm512_storeu_si512(xr + i * Dh + c, bf16_pairs(even, odd));
    }
}

// From st and dpt (nk, 32): P = 2^(y − lse2) and dS = scale·P ∘ (dP − D) per lane, as bf16 per key into
// pt and dst, and dS in pairs along keys into dsp.
BLT_AVX512_BF16 void chunk_grads(ItemScratch& sc, int64_t nk, float scale) {
  const __m512 sc_ = _mm512_set1_ps(scale);
  for (int h = 0; h < kRows; h += kLanes) {
    const __m512 l2 = _mm512_loadu_ps(sc.lse2 + h), D = _mm512_loadu_ps(sc.dr + h);
    __m512 even = _mm512_setzero_ps();
    for (int64_t j = 0; j < nk; ++j) {
      const __m512 p = exp2_for_bf16(_mm512_sub_ps(_mm512_loadu_ps(sc.st + j * kRows + h), l2));
      const __m512 ds =
          _mm512_mul_ps(_mm512_mul_ps(p, _mm512_sub_ps(_mm512_loadu_ps(sc.dpt + j * kRows + h), D)), sc_);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sc.pt + j * kRows + h), (__m256i)_mm512_cvtneps_pbh(p));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sc.dst + j * kRows + h),
                          (__m256i)_mm512_cvtneps_pbh(ds));
      if (j % 2 == 0)
        even = ds;
      else
        _mm512_storeu_si512(sc.dsp + j / 2 * kRows + h, bf16_pairs(even, ds));
    }
  }
}

// acc (KJ keys' rows, Dh = 16·NC floats each) += per key k Σ_i a[k][pair i] · xr[i] over the 32 rows'
// 16 pairs: a (KJ, 32) bf16 per key (P or dS), xr the rows' pairs (dO or Q); KJ·NC accumulators.
template <int NC, int KJ>
BLT_AVX512_BF16 void kv_keys(const bf16* a, const uint32_t* xr, float* acc) {
  constexpr int64_t Dh = 16 * NC;
  __m512 s[KJ][NC];
  for (int k = 0; k < KJ; ++k)
    for (int n = 0; n < NC; ++n) s[k][n] = _mm512_loadu_ps(acc + k * Dh + n * kLanes);
  for (int64_t i = 0; i < kRows / 2; ++i) {
    __m512i w[KJ];
    for (int k = 0; k < KJ; ++k) w[k] = broadcast_pair(a + k * kRows + 2 * i);
#pragma GCC unroll 8
    for (int n = 0; n < NC; ++n) {
      const __m512i x = _mm512_loadu_si512(xr + i * Dh + n * kLanes);
      for (int k = 0; k < KJ; ++k) s[k][n] = dp(s[k][n], x, w[k]);
    }
  }
  for (int k = 0; k < KJ; ++k)
    for (int n = 0; n < NC; ++n) _mm512_storeu_ps(acc + k * Dh + n * kLanes, s[k][n]);
}

// kv_keys over the chunk's nk keys (even): as many keys per pass as 16 accumulators hold, pairs for the rest.
template <int NC>
void kv_update(const bf16* a, int64_t nk, const uint32_t* xr, float* acc) {
  constexpr int KJ = NC <= 2 ? 8 : NC <= 4 ? 4 : 2;
  int64_t j = 0;
  for (; j + KJ <= nk; j += KJ) kv_keys<NC, KJ>(a + j * kRows, xr, acc + j * 16 * NC);
  for (; j < nk; j += 2) kv_keys<NC, 2>(a + j * kRows, xr, acc + j * 16 * NC);
}

// What the backward of one call reads, and dQ, which items write in disjoint rows (may be null).
struct BackwardIo {
  const KeyRange* ranges;
  const float *q, *out, *lse, *dout;
  float* dq;
};

// The item's operands from q and dO (its rows from offset qoff, Hq·Dh apart), D and lse2; dQᵀ zeroed.
BLT_AVX512_BF16 void prepare_item(const AttnDims& d, const BackwardIo& io, const ItemRows& it, int64_t qoff,
                                  ItemScratch& sc) {
  const int64_t ldq = d.Hq * d.Dh;
  const float *Q = io.q + qoff, *O = io.out + qoff, *dO = io.dout + qoff;
  const float* L = io.lse + (it.b * d.Hq + it.h) * d.Tq + it.t0;
  load_dh_pairs(d, io.q, it, sc.qp);
  load_dh_pairs(d, io.dout, it, sc.dop);
  load_row_pairs(Q, ldq, it.nq, d.Dh, sc.qr);
  load_row_pairs(dO, ldq, it.nq, d.Dh, sc.dor);
  std::fill(sc.dqt, sc.dqt + d.Dh * kRows, 0.f);
  for (int64_t r = 0; r < kRows; ++r) {
    __m512 D = _mm512_setzero_ps();  // Dh is a multiple of 16
    for (int64_t c = 0; r < it.nq && c < d.Dh; c += kLanes)
      D = _mm512_fmadd_ps(_mm512_loadu_ps(dO + r * ldq + c), _mm512_loadu_ps(O + r * ldq + c), D);
    // Summed through memory, not by _mm512_reduce_add_ps: GCC 12's -Wmaybe-uninitialized trips on that.
    alignas(64) float lanes[kLanes];
    _mm512_store_ps(lanes, D);
    float sum = 0;
    for (float x : lanes) sum += x;
    sc.dr[r] = sum;
    const bool any = r < it.nq && L[r] > -INFINITY;
    sc.lse2[r] = any ? L[r] * kLog2e : INFINITY;  // +inf: P = 0 for every key
  }
}

// Item `item` = (b·n_blocks + block)·Hq + h (32 query rows), Dh = 16·NC: every chunk of its keys, then
// dq += its dQ. acc holds the thread's dK then dV per (batch, kv head), blocks_per_head(d) floats each.
template <int NC>
void backward_item(const AttnDims& d, const BackwardIo& io, const Packed& pk, int64_t item, ItemScratch& sc,
                   float* acc) {
  const int64_t nb = n_row_blocks(d, kRows), hq = item % d.Hq, blk = item / d.Hq % nb, t0 = blk * kRows;
  const ItemRows it{item / (d.Hq * nb), hq, t0, std::min<int64_t>(kRows, d.Tq - t0)};
  Lanes ln;
  const KeyUnion u = lane_ranges(io.ranges + it.b * d.Tq + it.t0, it.nq, ln);
  if (u.lo >= u.hi) return;  // no row has a key: no gradient
  const int64_t ldq = d.Hq * d.Dh, ldk = d.Dh, g = it.h / (d.Hq / d.Hkv), Dh = d.Dh;
  const int64_t qoff = (it.b * d.Tq + it.t0) * ldq + it.h * Dh, per_head = amx::blocks_per_head(d);
  prepare_item(d, io, it, qoff, sc);
  const bf16* K = pk.k + amx::head_rows(d, it.b, g);  // key j's row at K + j·ldk
  const bf16* V = pk.v + amx::head_rows(d, it.b, g);
  const uint32_t* KP = pk.kp + (it.b * d.Hkv + g) * pairs_per_head(d);  // pair i's row at KP + i·Dh
  float* dK = acc + (it.b * d.Hkv + g) * 2 * per_head;                  // key j's row at dK + j·Dh
  float* dV = dK + per_head;
  const float scale = static_cast<float>(d.scale);
  for (int32_t j0 = u.lo & ~1; j0 < u.hi; j0 += static_cast<int32_t>(kChunk)) {
    const int64_t nk = std::min<int64_t>(kChunk, (u.hi - j0 + 1) & ~1);  // even: may take key Tk (masked)
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(nk));
    for_each_block(nk, [&](int64_t off, int64_t n) {
      const int32_t j = j0 + static_cast<int32_t>(off);
      kQkPairs[n - 1](sc.qp, Dh, K + j * ldk, ldk, j, ln, mask, scale * kLog2e, sc.st + off * kRows, sc.mx);
      kQkPairs[n - 1](sc.dop, Dh, V + j * ldk, ldk, j, ln, false, 1.f, sc.dpt + off * kRows, sc.mx);
    });
    chunk_grads(sc, nk, scale);
    for_each_block(Dh, [&](int64_t c0, int64_t n) {
      kPvPairs[n - 1](sc.dsp, nk / 2, KP + j0 / 2 * Dh + c0, Dh, sc.ones, sc.dqt + c0 * kRows);
    });
    kv_update<NC>(sc.pt, nk, sc.dor, dV + j0 * Dh);
    kv_update<NC>(sc.dst, nk, sc.qr, dK + j0 * Dh);
  }
  if (!io.dq) return;
  for (int64_t r = 0; r < it.nq; ++r)
    for (int64_t c = 0; c < Dh; ++c) io.dq[qoff + r * ldq + c] += sc.dqt[c * kRows + r];
}

using ItemFn = void (*)(const AttnDims&, const BackwardIo&, const Packed&, int64_t, ItemScratch&, float*);
constexpr ItemFn kItems[] = {&backward_item<1>, &backward_item<2>, &backward_item<3>, &backward_item<4>,
                             &backward_item<5>, &backward_item<6>, &backward_item<7>, &backward_item<8>};

}  // namespace

bool use_attention_avx512bf16_backward(const AttnDims& d) {
  return use_attention_avx512bf16(d) && d.Dh % 16 == 0 && d.Dh <= kMaxDh;
}

void attention_backward_avx512bf16(const AttnDims& d, const float* q, const float* k, const float* v,
                                   const KeyRange* ranges, const float* out, const float* lse,
                                   const float* dout, float* dq, float* dk, float* dv) {
  const BackwardIo io{ranges, q, out, lse, dout, dq};
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, kParallelWork);
  const Packed pk = pack(d, k, v, parallel);
  const int64_t n_items = d.B * d.Hq * n_row_blocks(d, kRows);
  const ItemFn item_fn = kItems[d.Dh / 16 - 1];
  kv_grad_team(d, parallel, dk, dv, [&](int tid, int nt, float* mine) {
    static thread_local ItemScratch sc;
    std::fill(sc.mx, sc.mx + kRows, -INFINITY);
    std::fill(sc.ones, sc.ones + kRows, 1.f);
    // Static round-robin: balanced for causal masks and reproducible.
    for (int64_t item = tid; item < n_items; item += nt) item_fn(d, io, pk, item, sc, mine);
  });
}

}  // namespace blt::ops::detail
