// The bf16 attention backward on AMX tiles (Precision::BF16), flash-attention style: P is recomputed
// from the forward's log-sum-exp. A work item is 32 query rows of one head, two halves of 16 lanes; per
// chunk of 32 keys (aligned to 32), per half: Sᵀ = K Qᵀ and dPᵀ = V dOᵀ on tiles, then on AVX-512 (one
// lane per query row) P = exp(S − lse) and dS = scale·P ∘ (dP − D), D = rowsum(dO ∘ O), in f32 and
// rounded to bf16, and dQᵀ += Kᵀ dSᵀ; then over all 32 rows dV += Pᵀ dO and dK += dSᵀ Q (depth 32).
// Accumulators are f32 in memory, each product through one tile: dQᵀ per item, added to dq at its end;
// dK and dV per thread, per (batch, kv head) with Tk padded to 32 keys, summed in thread order into dk
// and dv at the end (deterministic for a fixed thread count).
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/attention_amx.h"
#include "ops/attention_item.h"
#include "ops/attention_kernels.h"
#include "ops/attention_kv_grads.h"
#include "ops/parallel.h"

namespace blt::ops::detail {

namespace {

using namespace amx;

// k and v in bf16 rows, kᵀ in bf16 blocks (attention_amx.h), in the calling thread's buffer.
struct Packed {
  const bf16 *k, *v, *kt;
};

Packed pack(const AttnDims& d, const float* k, const float* v, bool parallel) {
  static thread_local std::vector<bf16> buf;
  const size_t size = 2 * rows_size(d) + d.B * d.Hkv * blocks_per_head(d);
  if (buf.size() < size) buf.resize(size);
  bf16* const kb = buf.data();  // the team sees the caller's buffer through these pointers
  bf16* const vb = kb + rows_size(d);
  bf16* const kt = vb + rows_size(d);
  pack_rows(d, k, kb, parallel);
  pack_rows(d, v, vb, parallel);
  pack_transposed(d, k, kt, parallel);
  return {kb, vb, kt};
}

// xp: the 32 rows X[0..n) (ld apart, rows past n zero) in bf16 pairs of rows, per 16 columns c0 a block of
// 16 × 16 words (x[2i][c0 + c], x[2i+1][c0 + c]): the B operand of a product over the 32 rows.
BLT_AMX void load_row_pairs(const float* X, int64_t ld, int64_t n, int64_t Dh, uint32_t* xp) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t c0 = 0; c0 < Dh; c0 += 16)
    for (int64_t i = 0; i < 16; ++i) {
      const __m512 even = 2 * i < n ? _mm512_loadu_ps(X + 2 * i * ld + c0) : zero;
      const __m512 odd = 2 * i + 1 < n ? _mm512_loadu_ps(X + (2 * i + 1) * ld + c0) : zero;
      _mm512_storeu_si512(xp + c0 * 16 + i * kLanes, bf16_pairs(even, odd));
    }
}

// One item's operands and accumulators (a thread's; 32 rows = kRows, halves of kLanes).
struct ItemScratch {
  alignas(64) uint32_t qt[2][kMaxDh / 2 * kLanes];   // Qᵀ pairs per half
  alignas(64) uint32_t dot[2][kMaxDh / 2 * kLanes];  // dOᵀ pairs per half
  alignas(64) uint32_t qp[kMaxDh * kLanes];          // Q row pairs
  alignas(64) uint32_t dop[kMaxDh * kLanes];         // dO row pairs
  alignas(64) float st[2][kKeys * kLanes];           // Sᵀ per half
  alignas(64) float dpt[2][kKeys * kLanes];          // dPᵀ per half
  alignas(64) bf16 pa[kKeys * kRows];                // Pᵀ (32 keys × 32 rows)
  alignas(64) bf16 dsa[kKeys * kRows];               // dSᵀ (32 keys × 32 rows)
  alignas(64) uint32_t dsb[kKeys / 2 * kLanes];      // dSᵀ pairs of one half
  alignas(64) float dqt[2][kMaxDh * kLanes];         // dQᵀ per half
  alignas(64) float lse2[kRows];                     // lse in log2 units; +inf for rows without keys
  alignas(64) float dr[kRows];                       // D = rowsum(dO ∘ O)
};

// The half's (32 keys × 16 lanes) chunk of keys j0..: P = 2^(S·scale·log2 e − lse2), masked to the
// lanes' ranges when `mask`, and dS = scale·P ∘ (dP − D) from st, dpt; P and dS as bf16 into their
// columns of pa, dsa, and dS in pairs into dsb.
BLT_AMX void grad_chunk(const ItemScratch& sc, int half, const Lanes& ln, int32_t j0, bool mask, float scale,
                        bf16* pa, bf16* dsa, uint32_t* dsb) {
  const float* st = sc.st[half];
  const float* dpt = sc.dpt[half];
  const __m512 c = _mm512_set1_ps(scale * 1.4426950408889634f), sc_ = _mm512_set1_ps(scale);
  const __m512 l2 = _mm512_loadu_ps(sc.lse2 + half * kLanes), D = _mm512_loadu_ps(sc.dr + half * kLanes);
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  const __m512i lo = _mm512_loadu_si512(ln.lo + half * kLanes), hi = _mm512_loadu_si512(ln.hi + half * kLanes);
  __m512 even = _mm512_setzero_ps();
  for (int j = 0; j < kKeys; ++j) {
    __m512 y = _mm512_mul_ps(_mm512_loadu_ps(st + j * kLanes), c);
    if (mask) y = _mm512_mask_mov_ps(ninf, lanes_hold(lo, hi, j0 + j), y);
    const __m512 p = exp2_for_bf16(_mm512_sub_ps(y, l2));
    const __m512 ds = _mm512_mul_ps(_mm512_mul_ps(p, _mm512_sub_ps(_mm512_loadu_ps(dpt + j * kLanes), D)), sc_);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pa + j * kRows + half * kLanes), (__m256i)_mm512_cvtneps_pbh(p));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dsa + j * kRows + half * kLanes),
                        (__m256i)_mm512_cvtneps_pbh(ds));
    if (j % 2 == 0)
      even = ds;
    else
      _mm512_storeu_si512(dsb + j / 2 * kLanes, bf16_pairs(even, ds));
  }
}

// dQᵀ (Dh, 16) += Kᵀ (the chunk's (Dh, 32) block kt) · dSᵀ (pairs dsb), two 16-column blocks at a time
// through tiles 0, 1 (dQᵀ) and 2, 3 (Kᵀ), with dSᵀ in tile 7.
template <int NT>
BLT_AMX void dq_tiles(const uint32_t* dsb, const bf16* kt, float* dqt) {
  memory_barrier();
  _tile_loadd(7, dsb, 64);
  for (int ct = 0; ct < NT; ct += 2) {
    _tile_loadd(0, dqt + ct * 256, 64);
    _tile_loadd(2, kt + ct * 16 * kKeys, 64);
    _tile_loadd(1, dqt + (ct + 1) * 256, 64);
    _tile_loadd(3, kt + (ct + 1) * 16 * kKeys, 64);
    _tile_dpbf16ps(0, 2, 7);
    _tile_dpbf16ps(1, 3, 7);
    _tile_stored(0, dqt + ct * 256, 64);
    _tile_stored(1, dqt + (ct + 1) * 256, 64);
  }
}

// acc (32 keys, Dh; rows Dh apart) += A (32 keys × 32 rows, bf16) · B (the rows' pairs bp), two 16-column
// blocks at a time: tiles 4, 5 (A), 6, 7 (B) and 0..3 (acc).
template <int NT>
BLT_AMX void kv_tiles(const bf16* a, const uint32_t* bp, float* acc) {
  constexpr int64_t Dh = 16 * NT, stride = Dh * sizeof(float);
  memory_barrier();
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a + 16 * kRows, 64);
  for (int ct = 0; ct < NT; ct += 2) {
    float* c0 = acc + ct * 16;
    float* c1 = c0 + 16;
    _tile_loadd(6, bp + ct * 256, 64);
    _tile_loadd(7, bp + (ct + 1) * 256, 64);
    _tile_loadd(0, c0, stride);
    _tile_loadd(1, c0 + 16 * Dh, stride);
    _tile_loadd(2, c1, stride);
    _tile_loadd(3, c1 + 16 * Dh, stride);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 5, 6);
    _tile_dpbf16ps(2, 4, 7);
    _tile_dpbf16ps(3, 5, 7);
    _tile_stored(0, c0, stride);
    _tile_stored(1, c0 + 16 * Dh, stride);
    _tile_stored(2, c1, stride);
    _tile_stored(3, c1 + 16 * Dh, stride);
  }
}

// What the backward of one call reads, and dQ, which items write in disjoint rows (may be null).
struct BackwardIo {
  const float *q, *k, *v;
  const KeyRange* ranges;
  const float *out, *lse, *dout;
  float* dq;
};

// The item's operands from q and dO (rows from offset qoff, Hq·Dh apart), D and lse2; dQᵀ zeroed.
BLT_AMX void prepare_item(const AttnDims& d, const BackwardIo& io, const ItemRows& it, int64_t qoff,
                          ItemScratch& sc) {
  const int64_t ldq = d.Hq * d.Dh;
  const float *Q = io.q + qoff, *O = io.out + qoff, *dO = io.dout + qoff;
  const float* L = io.lse + (it.b * d.Hq + it.h) * d.Tq + it.t0;
  for (int half = 0; half < 2; ++half) {
    const int64_t n = std::clamp<int64_t>(it.nq - half * kLanes, 0, kLanes), off = n > 0 ? half * kLanes * ldq : 0;
    load_pairs_transposed(Q + off, ldq, n, d.Dh, sc.qt[half]);
    load_pairs_transposed(dO + off, ldq, n, d.Dh, sc.dot[half]);
    std::fill(sc.dqt[half], sc.dqt[half] + d.Dh * kLanes, 0.f);
  }
  load_row_pairs(Q, ldq, it.nq, d.Dh, sc.qp);
  load_row_pairs(dO, ldq, it.nq, d.Dh, sc.dop);
  for (int64_t r = 0; r < kRows; ++r) {
    float D = 0;
    for (int64_t c = 0; r < it.nq && c < d.Dh; ++c) D += dO[r * ldq + c] * O[r * ldq + c];
    sc.dr[r] = D;
    const bool any = r < it.nq && L[r] > -INFINITY;
    sc.lse2[r] = any ? L[r] * 1.4426950408889634f : INFINITY;  // +inf: P = 0 for every key
  }
}

// Item `item` (32 query rows), Dh = 16·NT: every 32-key chunk of its keys, then dq += its dQ. acc holds the
// thread's dK then dV per (batch, kv head), blocks_per_head(d) floats each.
template <int NT>
BLT_AMX void backward_item(const AttnDims& d, const BackwardIo& io, const Packed& pk, int64_t item,
                           ItemScratch& sc, float* acc) {
  const ItemRows it = item_rows(d, item, kRows);
  Lanes ln;
  const KeyUnion u = lane_ranges(io.ranges + it.b * d.Tq + it.t0, it.nq, ln);
  if (u.lo >= u.hi) return;  // no row has a key: no gradient
  const int64_t ldq = d.Hq * d.Dh, g = it.h / (d.Hq / d.Hkv), ldk = d.Dh;
  const int64_t qoff = (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh, per_head = blocks_per_head(d);
  prepare_item(d, io, it, qoff, sc);
  const bf16* K = pk.k + head_rows(d, it.b, g);  // key j at K + j·ldk
  const bf16* V = pk.v + head_rows(d, it.b, g);
  const bf16* KT = pk.kt + (it.b * d.Hkv + g) * per_head;  // chunk j0's (Dh, 32) at KT + j0·Dh
  float* dK = acc + (it.b * d.Hkv + g) * 2 * per_head;     // key j's row at dK + j·Dh
  float* dV = dK + per_head;
  const float scale = static_cast<float>(d.scale);
  for (int32_t j0 = u.lo / kKeys * kKeys; j0 < u.hi; j0 += kKeys) {
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(kKeys));
    for (int half = 0; half < 2; ++half) {
      qk_tiles<NT>(sc.qt[half], K + j0 * ldk, ldk, sc.st[half]);
      qk_tiles<NT>(sc.dot[half], V + j0 * ldk, ldk, sc.dpt[half]);
    }
    for (int half = 0; half < 2; ++half) {
      grad_chunk(sc, half, ln, j0, mask, scale, sc.pa, sc.dsa, sc.dsb);
      dq_tiles<NT>(sc.dsb, KT + j0 * d.Dh, sc.dqt[half]);
    }
    kv_tiles<NT>(sc.pa, sc.dop, dV + j0 * d.Dh);
    kv_tiles<NT>(sc.dsa, sc.qp, dK + j0 * d.Dh);
  }
  if (!io.dq) return;
  for (int64_t r = 0; r < it.nq; ++r)
    for (int64_t c = 0; c < d.Dh; ++c) io.dq[qoff + r * ldq + c] += sc.dqt[r / kLanes][c * kLanes + r % kLanes];
}

// Item `item`'s rows of q, out and dout to read and of dq to add to (prefetch_rows).
void prefetch_item(const AttnDims& d, const BackwardIo& io, int64_t item) {
  const ItemRows it = item_rows(d, item, kRows);
  const int64_t ldq = d.Hq * d.Dh, first = (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  for (const float* x : {io.q, io.out, io.dout}) prefetch_rows(x + first, ldq, it.nq, d.Dh, false);
  if (io.dq) prefetch_rows(io.dq + first, ldq, it.nq, d.Dh, true);
}

}  // namespace

void attention_backward_amx(const AttnDims& d, const float* q, const float* k, const float* v,
                            const KeyRange* ranges, const float* out, const float* lse, const float* dout,
                            float* dq, float* dk, float* dv) {
  const BackwardIo io{q, k, v, ranges, out, lse, dout, dq};
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, kParallelWork);
  const Packed pk = pack(d, k, v, parallel);
  const int64_t n_items = d.B * d.Hq * n_row_blocks(d, kRows);
  kv_grad_team(d, parallel, dk, dv, [&](int tid, int nt, float* mine) {
    static thread_local ItemScratch sc;
    load_tile_config();
    // Static round-robin: balanced for causal masks and reproducible.
    for (int64_t item = tid; item < n_items; item += nt) {
      if (item + nt < n_items) prefetch_item(d, io, item + nt);
      with_head_tiles(d.Dh, [&]<int NT>() { backward_item<NT>(d, io, pk, item, sc, mine); });
    }
    release_tiles();
  });
}

}  // namespace blt::ops::detail
