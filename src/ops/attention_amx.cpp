// The bf16 attention forward on AMX tiles (Precision::BF16), query rows in lanes as in
// attention_f32.cpp. A work item is 16 query rows of one head; per chunk of 32 keys (aligned to 32):
// Sᵀ (32 keys × 16 rows) = K Qᵀ on two f32 tiles, the softmax in f32 on AVX-512 (vertical), Pᵀ
// rounded to bf16 in the tiles' pair layout, and Oᵀ (Dh × 16) += Vᵀ Pᵀ. For Dh ≤ 64 Oᵀ stays in
// Dh/16 tiles for the whole item: each row's reference max moves only when the row's scores pass it by
// more than kSlack (P ≤ 2^kSlack meanwhile), and only then does Oᵀ leave the tiles to be rescaled; for
// Dh = 128 (eight tiles' worth) Oᵀ lives in memory and each chunk's product goes through one tile.
// k and v are converted to bf16 (Vᵀ in 32-key blocks) once per call, 32 keys at a time by the thread
// whose items reach them (attention_forward_amx), Qᵀ pairs per item (attention_amx.h).
#include "ops/attention_amx.h"

#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "blas/cpu_features.h"
#include "ops/attention_item.h"
#include "ops/attention_kernels.h"
#include "ops/parallel.h"

namespace blt::ops::detail {

namespace amx {

namespace {

struct alignas(64) TileConfig {
  uint8_t palette, start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

constexpr TileConfig tile_config() {
  TileConfig c{1, 0, {}, {}, {}};
  for (int i = 0; i < 8; ++i) {
    c.colsb[i] = 64;
    c.rows[i] = 16;
  }
  return c;
}

// vt (Dh, 32): the 32-key block of X rows (ld apart, n ≤ 32 of them, zero past) transposed in bf16;
// row c as 16 words (x[2i][c], x[2i+1][c]), one 16×16 word transpose per 16 columns.
BLT_AMX void pack_block_transposed(const float* X, int64_t ld, int64_t n, int64_t Dh, bf16* vt) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t c0 = 0; c0 < Dh; c0 += 16) {
    __m512i w[16];
    for (int64_t i = 0; i < 16; ++i) {
      const __m512 even = 2 * i < n ? _mm512_loadu_ps(X + 2 * i * ld + c0) : zero;
      const __m512 odd = 2 * i + 1 < n ? _mm512_loadu_ps(X + (2 * i + 1) * ld + c0) : zero;
      w[i] = bf16_pairs(even, odd);
    }
    transpose16(w);
    for (int64_t c = 0; c < 16; ++c) _mm512_storeu_si512(vt + (c0 + c) * kKeys, w[c]);
  }
}

// y (n) = x (n) rounded to bf16 by VCVTNEPS2BF16, as the Q and V packings (denormals flush to ±0).
BLT_AVX512_BF16 void convert_row(const float* x, bf16* y, int64_t n) {
  int64_t c = 0;
  for (; c + 32 <= n; c += 32)
    _mm512_storeu_si512(y + c,
                        (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + c + 16), _mm512_loadu_ps(x + c)));
  if (c == n) return;
  const int64_t r = n - c;  // 1..31 left
  const __mmask16 lo = static_cast<__mmask16>(r >= 16 ? 0xffff : (1u << r) - 1);
  const __mmask16 hi = static_cast<__mmask16>(r > 16 ? (1u << (r - 16)) - 1 : 0);
  const __m512i w =
      (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + c + 16), _mm512_maskz_loadu_ps(lo, x + c));
  _mm512_mask_storeu_epi16(y + c, static_cast<__mmask32>((uint64_t{1} << r) - 1), w);
}

}  // namespace

// Linux lets a process use the AMX tile data only after asking once (ARCH_REQ_XCOMP_PERM for XTILEDATA).
bool amx_permitted() {
  static const bool ok =
      blas::cpu_has_avx512_bf16() && blas::cpu_has_amx_bf16() && syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  return ok;
}

BLT_AMX void load_tile_config() {
  alignas(64) static constexpr TileConfig kConfig = tile_config();
  _tile_loadconfig(&kConfig);
}

BLT_AMX void release_tiles() {
  _tile_release();
}

int64_t rows_size(const AttnDims& d) {
  return d.B * d.Hkv * (d.Tk + kKeys) * d.Dh;
}

void pack_rows(const AttnDims& d, const float* x, bf16* y, bool parallel) {
  const int64_t ld = d.Hkv * d.Dh;
  parallel_for(d.B * d.Hkv, parallel, [&](int64_t bg) {
    const int64_t b = bg / d.Hkv, g = bg % d.Hkv;
    bf16* const rows = y + head_rows(d, b, g);
    for (int64_t t = 0; t < d.Tk; ++t) convert_row(x + (b * d.Tk + t) * ld + g * d.Dh, rows + t * d.Dh, d.Dh);
    std::fill(rows + d.Tk * d.Dh, rows + (d.Tk + kKeys) * d.Dh, bf16{});
  });
}

int64_t blocks_per_head(const AttnDims& d) {
  return (d.Tk + kKeys - 1) / kKeys * kKeys * d.Dh;
}

void pack_transposed(const AttnDims& d, const float* x, bf16* y, bool parallel) {
  const int64_t ld = d.Hkv * d.Dh, n_blocks = (d.Tk + kKeys - 1) / kKeys, per_head = blocks_per_head(d);
  parallel_for(d.B * d.Hkv * n_blocks, parallel, [&](int64_t blk) {
    const int64_t bg = blk / n_blocks, j0 = (blk % n_blocks) * kKeys, b = bg / d.Hkv, g = bg % d.Hkv;
    pack_block_transposed(x + (b * d.Tk + j0) * ld + g * d.Dh, ld, std::min(kKeys, d.Tk - j0), d.Dh,
                          y + bg * per_head + j0 * d.Dh);
  });
}

// Each row's 16 words per 32 columns (32 floats -> 32 bf16 in order, RNE), then one 16×16 word transpose.
BLT_AMX void load_pairs_transposed(const float* X, int64_t ld, int64_t n, int64_t Dh, uint32_t* xt) {
  for (int64_t c = 0; c < Dh; c += 32) {
    __m512i w[16];
    for (int64_t r = 0; r < kLanes; ++r) {
      const float* x = X + r * ld + c;
      w[r] = r < n ? (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(x))
                   : _mm512_setzero_si512();
    }
    transpose16(w);
    for (int64_t i = 0; i < 16; ++i) _mm512_storeu_si512(xt + (c / 2 + i) * kLanes, w[i]);
  }
}

}  // namespace amx

namespace {

using namespace amx;

constexpr float kSlack =
    12.f;  // how far (log2 units) a row's max may pass its reference before Oᵀ is rescaled

// k in bf16 rows and Vᵀ in bf16 blocks (attention_amx.h), in the calling thread's buffer (the team sees it
// through these pointers).
struct Packed {
  bf16 *k, *vt;
};

Packed packing_buffer(const AttnDims& d) {
  static thread_local std::vector<bf16> buf;
  const size_t size = rows_size(d) + d.B * d.Hkv * blocks_per_head(d);
  if (buf.size() < size) buf.resize(size);
  return {buf.data(), buf.data() + rows_size(d)};
}

// Keys [j0, j0 + 32) of (batch b, kv head g) into pk: their K rows (zero past Tk) and their block of Vᵀ.
void pack_chunk(const AttnDims& d, const float* k, const float* v, int64_t b, int64_t g, int64_t j0,
                const Packed& pk) {
  const int64_t ld = d.Hkv * d.Dh, n = std::min(kKeys, d.Tk - j0), x0 = (b * d.Tk + j0) * ld + g * d.Dh;
  bf16* const rows = pk.k + head_rows(d, b, g) + j0 * d.Dh;
  for (int64_t t = 0; t < n; ++t) convert_row(k + x0 + t * ld, rows + t * d.Dh, d.Dh);
  std::fill(rows + n * d.Dh, rows + kKeys * d.Dh, bf16{});
  pack_block_transposed(v + x0, ld, n, d.Dh, pk.vt + (b * d.Hkv + g) * blocks_per_head(d) + j0 * d.Dh);
}

// The keys of one (batch, kv head), packed by the thread that runs its items as far as they have reached.
struct GroupPacking {
  int64_t b, g, chunks = 0;  // chunks packed so far
  void reach(const AttnDims& d, const ForwardIo<float>& io, const Packed& pk, int32_t hi) {
    for (; chunks * kKeys < hi; ++chunks) pack_chunk(d, io.k, io.v, b, g, chunks * kKeys, pk);
  }
};

// Sᵀ (32, 16) of keys j0.. in st, masked to −inf when `mask`; in log2 units y = S·c, c = scale·log2(e).
// Rows whose max passes their reference m (log2 units) by kSlack move it there (s.alpha = 2^(m − m_new),
// 1 elsewhere); P = 2^(S·c − m) (one fused rounding) goes to pt as bf16 pairs (16 pairs × 16 rows) and
// its f32 sum into l. The max is taken on S and scaled after: rounding is monotonic, so it is the max
// of the rounded S·c. Returns whether any reference moved.
BLT_AMX bool softmax_chunk(float* st, int32_t j0, const Lanes& ln, bool mask, float scale, LaneState& s,
                           uint32_t* pt) {
  const __m512 c = _mm512_set1_ps(scale * 1.4426950408889634f), ninf = _mm512_set1_ps(-INFINITY);
  const __m512i lo = _mm512_loadu_si512(ln.lo), hi = _mm512_loadu_si512(ln.hi);
  __m512 mx = ninf;
  for (int j = 0; j < kKeys; ++j) {
    __m512 y = _mm512_loadu_ps(st + j * kLanes);
    if (mask) {
      y = _mm512_mask_mov_ps(ninf, lanes_hold(lo, hi, j0 + j), y);
      _mm512_storeu_ps(st + j * kLanes, y);
    }
    mx = _mm512_maskz_max_ps(0xffff, mx, y);
  }
  mx = _mm512_mul_ps(mx, c);
  const __m512 m = _mm512_loadu_ps(s.m);
  const __mmask16 move = _mm512_cmp_ps_mask(mx, _mm512_add_ps(m, _mm512_set1_ps(kSlack)), _CMP_GT_OQ);
  const __m512 m_new = _mm512_mask_mov_ps(m, move, mx);
  _mm512_storeu_ps(s.alpha,
                   _mm512_mask_mov_ps(_mm512_set1_ps(1.f), move, exp2_for_bf16(_mm512_sub_ps(m, m_new))));
  _mm512_storeu_ps(s.m, m_new);
  const __m512 mu =
      _mm512_mask_mov_ps(m_new, _mm512_cmp_ps_mask(m_new, ninf, _CMP_EQ_OQ), _mm512_setzero_ps());
  __m512 sum = _mm512_setzero_ps();
  for (int i = 0; i < kKeys / 2; ++i) {
    const __m512 even = exp2_for_bf16(_mm512_fmsub_ps(_mm512_loadu_ps(st + 2 * i * kLanes), c, mu));
    const __m512 odd = exp2_for_bf16(_mm512_fmsub_ps(_mm512_loadu_ps(st + (2 * i + 1) * kLanes), c, mu));
    sum = _mm512_add_ps(sum, _mm512_add_ps(even, odd));
    _mm512_storeu_si512(pt + i * kLanes, bf16_pairs(even, odd));  // pair row i: (P[2i][r], P[2i+1][r])
  }
  _mm512_storeu_ps(s.l, _mm512_fmadd_ps(_mm512_loadu_ps(s.l), _mm512_loadu_ps(s.alpha), sum));
  return move != 0;
}

// Oᵀ (tiles 0..NT-1 for NT ≤ 4, else ot itself) to and from ot; between them the rows of ot (Dh, 16).
template <int NT>
BLT_AMX void o_tiles_to(float* ot) {
  if constexpr (NT <= 4) {
    _tile_stored(0, ot, 64);
    _tile_stored(1, ot + 256, 64);
  }
  if constexpr (NT == 4) {
    _tile_stored(2, ot + 512, 64);
    _tile_stored(3, ot + 768, 64);
  }
}

template <int NT>
BLT_AMX void o_tiles_from(const float* ot) {
  memory_barrier();
  if constexpr (NT <= 4) {
    _tile_loadd(0, ot, 64);
    _tile_loadd(1, ot + 256, 64);
  }
  if constexpr (NT == 4) {
    _tile_loadd(2, ot + 512, 64);
    _tile_loadd(3, ot + 768, 64);
  }
}

// Rows of Oᵀ (Dh, 16) times alpha per lane.
template <int NT>
BLT_AMX void rescale_o(const float* alpha, float* ot) {
  o_tiles_to<NT>(ot);
  const __m512 a = _mm512_loadu_ps(alpha);
  for (int c = 0; c < NT * 16; ++c)
    _mm512_storeu_ps(ot + c * kLanes, _mm512_mul_ps(a, _mm512_loadu_ps(ot + c * kLanes)));
  o_tiles_from<NT>(ot);
}

// Oᵀ += Vᵀ · Pᵀ over one chunk: vt its (Dh, 32) block, pt the probabilities' pairs; Oᵀ in tiles 0..NT-1,
// or for NT = 8 in ot, through tile 0.
template <int NT>
BLT_AMX void pv_tiles(const uint32_t* pt, const bf16* vt, float* ot) {
  memory_barrier();
  _tile_loadd(7, pt, 64);  // Oᵀ[16ct.., :] += Vᵀ[16ct.., chunk] · Pᵀ
  if constexpr (NT == 8) {
    for (int ct = 0; ct < NT; ++ct) {
      _tile_loadd(0, ot + ct * 256, 64);
      _tile_loadd(6, vt + ct * 16 * kKeys, 64);
      _tile_dpbf16ps(0, 6, 7);
      _tile_stored(0, ot + ct * 256, 64);
    }
    return;
  }
  _tile_loadd(6, vt, 64);
  _tile_dpbf16ps(0, 6, 7);
  _tile_loadd(6, vt + 16 * kKeys, 64);
  _tile_dpbf16ps(1, 6, 7);
  if constexpr (NT == 4) {
    _tile_loadd(6, vt + 32 * kKeys, 64);
    _tile_dpbf16ps(2, 6, 7);
    _tile_loadd(6, vt + 48 * kKeys, 64);
    _tile_dpbf16ps(3, 6, 7);
  }
  memory_barrier();
}

// Double buffers: a tile load or a vector load of data just stored the other way waits for the stores
// to drain, so each buffer is read one chunk after it is written.
struct ItemScratch {
  alignas(64) uint32_t qt[kMaxDh / 2 * kLanes];    // Qᵀ pairs
  alignas(64) uint32_t pt[2][kKeys / 2 * kLanes];  // Pᵀ pairs
  alignas(64) float st[2][kKeys * kLanes];         // Sᵀ
  alignas(64) float ot[kMaxDh * kLanes];           // Oᵀ
};

// Item `item`'s query rows to read and output rows to write (prefetch_rows).
void prefetch_item(const AttnDims& d, const ForwardIo<float>& io, int64_t item) {
  const ItemRows it = item_rows(d, item, kLanes);
  const int64_t ldq = d.Hq * d.Dh, first = (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  prefetch_rows(io.q + first, ldq, it.nq, d.Dh, false);
  prefetch_rows(io.out + first, ldq, it.nq, d.Dh, true);
}

// Item `item`, Dh = 16·NT: its 32-key chunks through the tiles, pipelined so that the tiles work on
// chunk i+1's scores and chunk i−1's PV while the vector units take chunk i's softmax; then the output.
// `group`: its (batch, kv head)'s keys, packed here as far as the item needs them; null: all packed.
template <int NT>
BLT_AMX void forward_item(const AttnDims& d, const ForwardIo<float>& io, const Packed& pk, int64_t item,
                          ItemScratch& sc, GroupPacking* group) {
  const ItemRows it = item_rows(d, item, kLanes);
  Lanes ln;
  const KeyUnion u = lane_ranges(io.ranges + it.b * d.Tq + it.t0, it.nq, ln);
  if (group && u.lo < u.hi) group->reach(d, io, pk, u.hi);
  LaneState s;
  const int64_t ldq = d.Hq * d.Dh, g = it.h / (d.Hq / d.Hkv), ldk = d.Dh;
  load_pairs_transposed(io.q + (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh, ldq, it.nq, d.Dh, sc.qt);
  const bf16* K = pk.k + head_rows(d, it.b, g);                      // key j at K + j·ldk
  const bf16* VT = pk.vt + (it.b * d.Hkv + g) * blocks_per_head(d);  // chunk j0's (Dh, 32) at VT + j0·Dh
  const int32_t first = u.lo < u.hi ? u.lo / kKeys * kKeys : 0;
  const int64_t n = u.lo < u.hi ? (u.hi - first + kKeys - 1) / kKeys : 0;
  std::fill(sc.ot, sc.ot + NT * 16 * kLanes, 0.f);
  o_tiles_from<NT>(sc.ot);
  if (n > 0) qk_tiles<NT>(sc.qt, K + first * ldk, ldk, sc.st[0]);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t j0 = first + static_cast<int32_t>(i * kKeys);
    if (i + 1 < n) qk_tiles<NT>(sc.qt, K + (j0 + kKeys) * ldk, ldk, sc.st[(i + 1) & 1]);
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(kKeys));
    const bool moved =
        softmax_chunk(sc.st[i & 1], j0, ln, mask, static_cast<float>(d.scale), s, sc.pt[i & 1]);
    if (i > 0) pv_tiles<NT>(sc.pt[(i - 1) & 1], VT + (j0 - kKeys) * d.Dh, sc.ot);
    if (moved && i > 0) rescale_o<NT>(s.alpha, sc.ot);  // before chunk i's PV: Oᵀ holds chunks < i
  }
  if (n > 0) pv_tiles<NT>(sc.pt[(n - 1) & 1], VT + (first + (n - 1) * kKeys) * d.Dh, sc.ot);
  o_tiles_to<NT>(sc.ot);
  for (int r = 0; r < kLanes; ++r) s.m[r] *= 0.6931471805599453f;  // log2 -> natural units for the lse
  store_output(d, it, s, sc.ot, kLanes, io.out, io.lse);
}

}  // namespace

bool use_attention_amx(const AttnDims& d) {
  return (d.Dh == 32 || d.Dh == 64 || d.Dh == kMaxDh) && d.Tq >= kMinRows && amx_permitted();
}

void attention_forward_amx(const AttnDims& d, const float* q, const float* k, const float* v,
                           const KeyRange* ranges, float* out, float* lse) {
  const ForwardIo<float> io{q, k, v, ranges, out, lse};
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, kParallelWork);
  const int threads = parallel ? omp_get_max_threads() : 1;
  const Packed pk = packing_buffer(d);
  const auto run = [&](int64_t item, ItemScratch& sc, GroupPacking* group) {
    with_head_tiles(d.Dh, [&]<int NT>() { forward_item<NT>(d, io, pk, item, sc, group); });
  };
  // A work item is (batch, head, block of 16 query rows); items write disjoint rows of out and lse. Each
  // thread configures the tiles once and takes work in turn (dynamic: causal items differ in cost). With
  // enough (batch, kv head) groups to share out, the work is a group: its items row block by row block, its
  // keys packed as the items reach them, so the conversion runs between products (its reads overlap them)
  // and the packed keys are still in cache when the tiles load them. Otherwise all keys are packed first
  // and the work is an item.
  const int64_t groups = d.B * d.Hkv, per_group = d.Hq / d.Hkv, nb = n_row_blocks(d, kLanes);
  const int64_t chunks = (d.Tk + kKeys - 1) / kKeys;
  const bool by_group = groups % threads == 0 || groups >= 4 * threads;
  if (!by_group)
    parallel_for(groups * chunks, parallel, [&](int64_t c) {
      pack_chunk(d, k, v, c / chunks / d.Hkv, c / chunks % d.Hkv, c % chunks * kKeys, pk);
    });
  std::atomic<int64_t> next{0};
  run_team(threads, [&](int, int) {
    static thread_local ItemScratch sc;
    load_tile_config();
    if (by_group) {
      for (int64_t bg; (bg = next.fetch_add(1, std::memory_order_relaxed)) < groups;) {
        GroupPacking group{bg / d.Hkv, bg % d.Hkv};
        // the group's i-th item: row block i / per_group of its query head i % per_group
        const auto item = [&](int64_t i) {
          return (group.b * d.Hq + group.g * per_group + i % per_group) * nb + i / per_group;
        };
        for (int64_t i = 0; i < nb * per_group; ++i) {
          if (i + 1 < nb * per_group) prefetch_item(d, io, item(i + 1));
          run(item(i), sc, &group);
        }
      }
    } else {
      for (int64_t item; (item = next.fetch_add(1, std::memory_order_relaxed)) < groups * per_group * nb;)
        run(item, sc, nullptr);
    }
    release_tiles();
  });
}

}  // namespace blt::ops::detail
