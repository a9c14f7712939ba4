// The item loop of the fp32 lane-vector attention forwards (attention_f32.cpp on AVX-512,
// attention_f32_avx2.cpp on AVX2), which differ in vector width only. Per item: Qᵀ into the thread's
// scratch; per chunk of up to kChunk keys, the scores in register blocks of keys (masked only where some
// row's range does not hold the whole chunk), the online softmax over the chunk, and Oᵀ = α·Oᵀ + P V in
// register blocks of head columns; then the output. What a Kernel gives:
//   kRows, kBlock         query rows per item; keys or head columns per register block;
//   qk[n − 1], pv[n − 1]  the block functions for n keys or columns (1 ≤ n ≤ kBlock);
//   softmax, store        the chunk's softmax and the item's output.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/attention_item.h"
#include "ops/parallel.h"

namespace blt::ops::detail {

// st (n, kRows) = scale·scores of n keys (rows ldk apart, from key index j0) for the item's rows, from
// qt (Dh, kRows), masked to each lane's [lo, hi) when `mask`; mx (kRows) = max(mx, scores).
using QkFn = void (*)(const float* qt, int64_t Dh, const float* K, int64_t ldk, int32_t j0, const Lanes& ln,
                      bool mask, float scale, float* st, float* mx);
// ot (n, kRows) = alpha ∘ ot + Σ_j pt[j] · V[j][0..n) over nk keys (V rows ldv apart), per lane.
using PvFn = void (*)(const float* pt, int64_t nk, const float* V, int64_t ldv, const float* alpha,
                      float* ot);
// P = exp(S − m_new) in place over st (nk, kRows) with m_new = max(m, mx) per lane (0 where still −inf, so
// that fully masked lanes give P = 0, not NaN); alpha = exp(m − m_new), l = alpha·l + Σ_j P; m = m_new.
using SoftmaxFn = void (*)(float* st, int64_t nk, const float* mx, LaneState& s);
// The item's output rows = Oᵀ (Dh, kRows) transposed and divided by l; lse = m + log l (rows with no key:
// 0 and −inf).
using StoreFn = void (*)(const AttnDims& d, const ItemRows& it, const LaneState& s, const float* ot,
                         float* out, float* lse);

// One thread's item scratch: Qᵀ and Oᵀ (Dh, kRows), the chunk's scores, then probabilities (kChunk, kRows).
struct LaneScratch {
  std::vector<float> qt, ot, st;
};

// Item `item` (see ItemRows): every chunk of its keys through QKᵀ, softmax and PV, then the output.
template <class Kernel>
void lane_forward_item(const AttnDims& d, const ForwardIo<float>& io, int64_t item, LaneScratch& sc) {
  constexpr int kRows = Kernel::kRows;
  const ItemRows it = item_rows(d, item, kRows);
  Lanes ln;
  const KeyUnion u = lane_ranges(io.ranges + it.b * d.Tq + it.t0, it.nq, ln);
  load_q_transposed(d, io.q, it, kRows, sc.qt.data());
  std::fill(sc.ot.begin(), sc.ot.end(), 0.f);
  LaneState s;
  const int64_t ld = d.Hkv * d.Dh, kv_off = it.b * d.Tk * ld + it.h / (d.Hq / d.Hkv) * d.Dh;
  const float* K = io.k + kv_off;  // key j's row at K + j·ld
  const float* V = io.v + kv_off;
  alignas(64) float mx[kRows];
  for (int32_t j0 = u.lo; j0 < u.hi; j0 += static_cast<int32_t>(kChunk)) {
    const int64_t nk = std::min<int64_t>(kChunk, u.hi - j0);
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(nk));
    std::fill(mx, mx + kRows, -INFINITY);
    for_each_block<Kernel::kBlock>(nk, [&](int64_t off, int64_t n) {
      Kernel::qk[n - 1](sc.qt.data(), d.Dh, K + (j0 + off) * ld, ld, j0 + static_cast<int32_t>(off), ln, mask,
                        static_cast<float>(d.scale), sc.st.data() + off * kRows, mx);
    });
    Kernel::softmax(sc.st.data(), nk, mx, s);
    for_each_block<Kernel::kBlock>(d.Dh, [&](int64_t c0, int64_t n) {
      Kernel::pv[n - 1](sc.st.data(), nk, V + j0 * ld + c0, ld, s.alpha, sc.ot.data() + c0 * kRows);
    });
  }
  Kernel::store(d, it, s, sc.ot.data(), io.out, io.lse);
}

// attention_forward's contract (see attention_kernels.h) on Kernel: one work item per (batch, head, block
// of kRows query rows); items write disjoint rows of out and lse. Below 2^18 multiply-adds a call runs on
// one thread: fork/join would cost more than it saves.
template <class Kernel>
void lane_forward(const AttnDims& d, const ForwardIo<float>& io) {
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, 1 << 18);
  parallel_for<Schedule::Dynamic>(d.B * d.Hq * n_row_blocks(d, Kernel::kRows), parallel, [&](int64_t item) {
    static thread_local LaneScratch sc;
    sc.qt.resize(d.Dh * Kernel::kRows);
    sc.ot.resize(d.Dh * Kernel::kRows);
    sc.st.resize(kChunk * Kernel::kRows);
    lane_forward_item<Kernel>(d, io, item, sc);
  });
}

}  // namespace blt::ops::detail
