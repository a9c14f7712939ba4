// The fp32 attention backward on AVX2, flash-attention style from the forward's log-sum-exp, with
// attention_backward's contract, taken on CPUs where the AVX-512 forward does not run. A work item is 16
// query rows of one head (the lanes of two vectors); per chunk of up to 96 keys:
//   S = scale·Q Kᵀ and dP = dO Vᵀ (qk_block: Qᵀ or dOᵀ against key or value rows);
//   P = exp(S − lse) and dS = scale·P ∘ (dP − D), D = rowsum(dO ∘ O), per lane;
//   dQᵀ += dS K (pv_block, dS as the weights of key rows);
//   per key, dV += Pᵀ dO and dK += dSᵀ Q with the head columns in the lanes (rows of dO or Q times a
//   broadcast P or dS of each of the 16 rows).
// dQᵀ is per item, added to dq at its end; dK and dV are per thread (attention_kv_grads.h).
#include <algorithm>
#include <array>
#include <cmath>

#include "ops/attention_amx.h"
#include "ops/attention_avx2.h"
#include "ops/attention_kernels.h"
#include "ops/attention_kv_grads.h"
#include "ops/parallel.h"

namespace blt::ops::detail {

namespace {

using namespace avx2;
using amx::kMaxDh;                // the largest head dim this backward takes (attention_kv_grads.h's layout)
constexpr int kKeysPerBlock = 3;  // keys of a dK/dV register block
constexpr int kVecsPerBlock = 4;  // head-column vectors of a dK/dV register block (3·4 + 3 + 1 registers)

// One thread's item scratch.
struct ItemScratch {
  alignas(32) float qt[kMaxDh * kItemRows];   // Qᵀ (Dh, 16)
  alignas(32) float dot[kMaxDh * kItemRows];  // dOᵀ
  alignas(32) float qr[kItemRows * kMaxDh];   // Q rows (16, Dh), rows past the item's zero
  alignas(32) float dor[kItemRows * kMaxDh];  // dO rows
  alignas(32) float st[kChunk * kItemRows];   // S, then P, per key (nk, 16)
  alignas(32) float dpt[kChunk * kItemRows];  // dP, then dS, per key
  alignas(32) float dqt[kMaxDh * kItemRows];  // dQᵀ (Dh, 16)
  alignas(32) float lse[kItemRows];           // +inf for rows without keys: P = 0 for every key
  alignas(32) float dr[kItemRows];            // D
  alignas(32) float mx[kItemRows];            // qk_block's running max (unused here)
  alignas(32) float ones[kItemRows];          // pv_block's rescale factor: none
};

// P = exp(S − lse) over st and dS = scale·P ∘ (dP − D) over dpt (nk, 16), in place, per lane.
BLT_AVX2 void chunk_grads(ItemScratch& sc, int64_t nk, float scale) {
  const __m256 sc_ = _mm256_set1_ps(scale);
  for (int h = 0; h < kItemRows; h += kWidth) {
    const __m256 lse = _mm256_loadu_ps(sc.lse + h), D = _mm256_loadu_ps(sc.dr + h);
    for (int64_t j = 0; j < nk; ++j) {
      float *s = sc.st + j * kItemRows + h, *dp = sc.dpt + j * kItemRows + h;
      const __m256 p = exp8(_mm256_sub_ps(_mm256_loadu_ps(s), lse));
      _mm256_storeu_ps(s, p);
      _mm256_storeu_ps(dp, _mm256_mul_ps(_mm256_mul_ps(p, _mm256_sub_ps(_mm256_loadu_ps(dp), D)), sc_));
    }
  }
}

// acc (NK keys' rows, Dh apart) [0, 8·NV) += per key k Σ_r a[k][r] · xr[r][0, 8·NV) over the item's 16
// rows: a (NK, 16) per key (P or dS), xr the rows (16, Dh) of dO or Q; both offset to the block's columns.
template <int NK, int NV>
BLT_AVX2 void kv_block(const float* a, const float* xr, int64_t Dh, float* acc) {
  __m256 s[NK][NV];
  for (int k = 0; k < NK; ++k)
    for (int v = 0; v < NV; ++v) s[k][v] = _mm256_loadu_ps(acc + k * Dh + v * kWidth);
  for (int r = 0; r < kItemRows; ++r) {
    __m256 w[NK];
    for (int k = 0; k < NK; ++k) w[k] = _mm256_broadcast_ss(a + k * kItemRows + r);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __m256 x = _mm256_loadu_ps(xr + r * Dh + v * kWidth);
      for (int k = 0; k < NK; ++k) s[k][v] = _mm256_fmadd_ps(x, w[k], s[k][v]);
    }
  }
  for (int k = 0; k < NK; ++k)
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(acc + k * Dh + v * kWidth, s[k][v]);
}

using KvFn = void (*)(const float*, const float*, int64_t, float*);
constexpr auto kKv = block_table<std::array<KvFn, kVecsPerBlock>, kKeysPerBlock>([](auto nk) {
  return block_table<KvFn, kVecsPerBlock>([](auto nv) { return &kv_block<decltype(nk)::value, nv()>; });
});

// acc (nk keys' rows, Dh apart) += aᵀ xr for the chunk: a (nk, 16) per key, xr (16, Dh).
void kv_update(const float* a, int64_t nk, const float* xr, int64_t Dh, float* acc) {
  for_each_block<kKeysPerBlock>(nk, [&](int64_t j, int64_t n) {
    for_each_block<kVecsPerBlock>(Dh / kWidth, [&](int64_t v0, int64_t nv) {
      kKv[n - 1][nv - 1](a + j * kItemRows, xr + v0 * kWidth, Dh, acc + j * Dh + v0 * kWidth);
    });
  });
}

// What the backward of one call reads, and dQ, which items write in disjoint rows (may be null).
struct BackwardIo {
  const float *q, *k, *v;
  const KeyRange* ranges;
  const float *out, *lse, *dout;
  float* dq;
};

// xr (16, Dh) = the item's rows of x (q's layout), rows past nq zero.
void load_rows(const AttnDims& d, const float* x, const ItemRows& it, float* xr) {
  const int64_t ldq = d.Hq * d.Dh;
  const float* X = x + (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  for (int64_t r = 0; r < kItemRows; ++r)
    for (int64_t c = 0; c < d.Dh; ++c) xr[r * d.Dh + c] = r < it.nq ? X[r * ldq + c] : 0.f;
}

// The item's operands, D and lse; dQᵀ zeroed.
void prepare_item(const AttnDims& d, const BackwardIo& io, const ItemRows& it, ItemScratch& sc) {
  load_q_transposed(d, io.q, it, kItemRows, sc.qt);
  load_q_transposed(d, io.dout, it, kItemRows, sc.dot);
  load_rows(d, io.q, it, sc.qr);
  load_rows(d, io.dout, it, sc.dor);
  std::fill(sc.dqt, sc.dqt + d.Dh * kItemRows, 0.f);
  const int64_t ldq = d.Hq * d.Dh, off = (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  const float* L = io.lse + (it.b * d.Hq + it.h) * d.Tq + it.t0;
  for (int64_t r = 0; r < kItemRows; ++r) {
    float D = 0;
    for (int64_t c = 0; r < it.nq && c < d.Dh; ++c)
      D += io.dout[off + r * ldq + c] * io.out[off + r * ldq + c];
    sc.dr[r] = D;
    sc.lse[r] = r < it.nq && L[r] > -INFINITY ? L[r] : INFINITY;
  }
}

// Item `item` (see ItemRows): every chunk of its keys, then dq += its dQ. acc holds the thread's dK then
// dV per (batch, kv head), blocks_per_head(d) floats each.
void backward_item(const AttnDims& d, const BackwardIo& io, int64_t item, ItemScratch& sc, float* acc) {
  const ItemRows it = item_rows(d, item, kItemRows);
  Lanes ln;
  const KeyUnion u = lane_ranges(io.ranges + it.b * d.Tq + it.t0, it.nq, ln);
  if (u.lo >= u.hi) return;  // no row has a key: no gradient
  prepare_item(d, io, it, sc);
  const int64_t ld = d.Hkv * d.Dh, g = it.h / (d.Hq / d.Hkv), Dh = d.Dh, per_head = amx::blocks_per_head(d);
  const float* K = io.k + it.b * d.Tk * ld + g * Dh;  // key j's row at K + j·ld
  const float* V = io.v + it.b * d.Tk * ld + g * Dh;
  float* dK = acc + (it.b * d.Hkv + g) * 2 * per_head;  // key j's row at dK + j·Dh
  float* dV = dK + per_head;
  const float scale = static_cast<float>(d.scale);
  for (int32_t j0 = u.lo; j0 < u.hi; j0 += static_cast<int32_t>(kChunk)) {
    const int64_t nk = std::min<int64_t>(kChunk, u.hi - j0);
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(nk));
    for_each_block<kRegBlock>(nk, [&](int64_t off, int64_t n) {
      const int32_t j = j0 + static_cast<int32_t>(off);
      qk_blocks[n - 1](sc.qt, Dh, K + j * ld, ld, j, ln, mask, scale, sc.st + off * kItemRows, sc.mx);
      qk_blocks[n - 1](sc.dot, Dh, V + j * ld, ld, j, ln, false, 1.f, sc.dpt + off * kItemRows, sc.mx);
    });
    chunk_grads(sc, nk, scale);
    for_each_block<kRegBlock>(Dh, [&](int64_t c0, int64_t n) {
      pv_blocks[n - 1](sc.dpt, nk, K + j0 * ld + c0, ld, sc.ones, sc.dqt + c0 * kItemRows);
    });
    kv_update(sc.st, nk, sc.dor, Dh, dV + j0 * Dh);
    kv_update(sc.dpt, nk, sc.qr, Dh, dK + j0 * Dh);
  }
  if (!io.dq) return;
  const int64_t ldq = d.Hq * Dh, off = (it.b * d.Tq + it.t0) * ldq + it.h * Dh;
  for (int64_t r = 0; r < it.nq; ++r)
    for (int64_t c = 0; c < Dh; ++c) io.dq[off + r * ldq + c] += sc.dqt[c * kItemRows + r];
}

}  // namespace

bool use_attention_f32_avx2_backward(const AttnDims& d) {
  return use_attention_f32_avx2(d) && d.Dh % kWidth == 0 && d.Dh <= kMaxDh;
}

void attention_backward_f32_avx2(const AttnDims& d, const float* q, const float* k, const float* v,
                                 const KeyRange* ranges, const float* out, const float* lse,
                                 const float* dout, float* dq, float* dk, float* dv) {
  const BackwardIo io{q, k, v, ranges, out, lse, dout, dq};
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, 1 << 18);
  const int64_t n_items = d.B * d.Hq * n_row_blocks(d, kItemRows);
  kv_grad_team(d, parallel, dk, dv, [&](int tid, int nt, float* mine) {
    static thread_local ItemScratch sc;
    std::fill(sc.mx, sc.mx + kItemRows, -INFINITY);
    std::fill(sc.ones, sc.ones + kItemRows, 1.f);
    // Static round-robin: balanced for causal masks and reproducible.
    for (int64_t item = tid; item < n_items; item += nt) backward_item(d, io, item, sc, mine);
  });
}

}  // namespace blt::ops::detail
