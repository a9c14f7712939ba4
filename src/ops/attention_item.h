// What the fast attention forwards (attention_f32.cpp, attention_f32_avx2.cpp, attention_amx.cpp,
// attention_avx512bf16.cpp) share: a work item is a block of up to kRows query rows of one (batch,
// head), each row one vector lane. Per lane: the key range [lo, hi) (empty for rows past the end), the
// running max m, sum l and rescale factor alpha.
// The output is accumulated transposed, Oᵀ (Dh, rows), and written back divided by l, with
// lse = m + log l (rows with no allowed key: 0 and −inf, as the tiled kernel).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "ops/attention.h"

namespace blt::ops::detail {

constexpr int kLanes = 16;
constexpr int kRows = 2 * kLanes;  // the most query rows of an item (two vectors)
constexpr int64_t kMinRows = 16;   // fewer query rows than this go to the tiled kernel (decoding steps)
constexpr int64_t kChunk = 96;     // keys per online-softmax step (even: bf16 pairs of keys)
constexpr int kBlock = 12;         // keys (QKᵀ) or head columns (PV) held in registers per pass (AVX-512)

template <class T>
struct ForwardIo {
  const T *q, *k, *v;
  const KeyRange* ranges;
  T *out, *lse;
};

// Query rows [t0, t0 + nq) of batch b, head h: item = (b·Hq + h)·n_blocks + block.
struct ItemRows {
  int64_t b, h, t0, nq;
};

inline int64_t n_row_blocks(const AttnDims& d, int64_t rows) {
  return (d.Tq + rows - 1) / rows;
}

inline ItemRows item_rows(const AttnDims& d, int64_t item, int64_t rows) {
  const int64_t nb = n_row_blocks(d, rows), bh = item / nb, t0 = (item % nb) * rows;
  return {bh / d.Hq, bh % d.Hq, t0, std::min(rows, d.Tq - t0)};
}

// Per-lane key ranges, as int32 vectors' worth.
struct Lanes {
  alignas(64) int32_t lo[kRows];
  alignas(64) int32_t hi[kRows];
};

// The keys an item must visit, [lo, hi) (empty when no row has a key), and whether every row's range
// holds [lo_max, hi_min): a chunk inside that needs no mask.
struct KeyUnion {
  int32_t lo, hi, lo_max, hi_min;
  bool covers(int32_t j0, int32_t j1) const { return lo_max <= j0 && j1 <= hi_min; }
};

// ln = the ranges of rows rr[0..nq), lanes past nq empty; returns their union.
inline KeyUnion lane_ranges(const KeyRange* rr, int64_t nq, Lanes& ln) {
  KeyUnion u{std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
             std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
  for (int64_t r = 0; r < kRows; ++r) {
    const KeyRange k = r < nq ? rr[r] : KeyRange{0, 0};
    ln.lo[r] = k.lo;
    ln.hi[r] = k.hi;
    if (r >= nq) continue;
    u.lo_max = std::max(u.lo_max, k.lo);
    u.hi_min = std::min(u.hi_min, k.hi);
    if (k.lo < k.hi) {
      u.lo = std::min(u.lo, k.lo);
      u.hi = std::max(u.hi, k.hi);
    }
  }
  return u;
}

struct LaneState {
  alignas(64) float m[kRows];
  alignas(64) float l[kRows];
  alignas(64) float alpha[kRows];
  LaneState() {
    std::fill(m, m + kRows, -std::numeric_limits<float>::infinity());
    std::fill(l, l + kRows, 0.f);
    std::fill(alpha, alpha + kRows, 1.f);
  }
};

// qt (Dh, rows) = the item's query rows transposed, lanes past nq zero.
inline void load_q_transposed(const AttnDims& d, const float* q, const ItemRows& it, int64_t rows,
                              float* qt) {
  const int64_t ldq = d.Hq * d.Dh;
  const float* Q = q + (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < d.Dh; ++c) qt[c * rows + r] = r < it.nq ? Q[r * ldq + c] : 0.f;
}

// {make(1), ..., make(Block)}: make(n) (n an integral_constant) is a block function for n keys or columns.
template <class Fn, class Make, size_t... I>
constexpr std::array<Fn, sizeof...(I)> block_table(Make make, std::index_sequence<I...>) {
  return {make(std::integral_constant<int, static_cast<int>(I) + 1>{})...};
}
template <class Fn, int Block = kBlock, class Make>
constexpr std::array<Fn, Block> block_table(Make make) {
  return block_table<Fn>(make, std::make_index_sequence<Block>{});
}

// Splits n into ceil(n / Block) near-equal blocks, fn(offset, size) for each.
template <int Block = kBlock, class Fn>
void for_each_block(int64_t n, Fn&& fn) {
  const int64_t nb = (n + Block - 1) / Block;
  for (int64_t b = 0, off = 0; b < nb; ++b) {
    const int64_t size = n / nb + (b < n % nb ? 1 : 0);
    fn(off, size);
    off += size;
  }
}

}  // namespace blt::ops::detail
