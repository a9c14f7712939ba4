// What the bf16 attention kernels on AMX tiles share (attention_amx.cpp, the forward;
// attention_amx_bwd.cpp, the backward): the tile configuration (all eight tiles 16 rows × 64 bytes), the
// packing of K and V, Qᵀ pairs, and the Sᵀ = K Qᵀ product (the pair layout and the short exp2 are
// attention_bf16.h's). Query rows are vector lanes throughout.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/bf16.h"
#include "ops/attention.h"
#include "ops/attention_bf16.h"
#include "ops/attention_item.h"

#define BLT_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma,amx-tile,amx-bf16")))

namespace blt::ops::detail::amx {

constexpr int64_t kKeys = 32;    // keys per chunk: the depth of one bf16 tile product
constexpr int64_t kMaxDh = 128;  // the largest head dim the kernels take
constexpr double kParallelWork = 1 << 18;

// AMX-BF16 and AVX512-BF16 on this CPU, with the OS's permission for the tile data (asked once).
bool amx_permitted();
// Every tile 16 rows × 64 bytes, for the calling thread; release_tiles() when done.
void load_tile_config();
void release_tiles();

// The tile loads are asm statements that do not tell the compiler they read memory: stores the
// compiler sees must be complete before them.
inline void memory_barrier() {
  __asm__ __volatile__("" ::: "memory");
}

// x (B,Tk,Hkv,Dh) -> per (batch, kv head) its Tk rows of Dh in bf16 (contiguous: a tile reads 16 keys from
// one run of memory), then kKeys zero rows (a chunk may run past Tk): rows_size(d) elements, the rows of
// (batch b, kv head g) at y + head_rows(d, b, g).
int64_t rows_size(const AttnDims& d);
inline int64_t head_rows(const AttnDims& d, int64_t b, int64_t g) {
  return (b * d.Hkv + g) * (d.Tk + kKeys) * d.Dh;
}
void pack_rows(const AttnDims& d, const float* x, bf16* y, bool parallel);
// x (B,Tk,Hkv,Dh) -> per (batch, kv head) (Tk/32 rounded up) blocks (Dh, 32) of xᵀ in bf16, keys past
// Tk zero: the A operand of a product over 32 keys. blocks_per_head(d) elements per (batch, kv head).
int64_t blocks_per_head(const AttnDims& d);
void pack_transposed(const AttnDims& d, const float* x, bf16* y, bool parallel);

// f.template operator()<NT>() with NT = Dh / 16 for the head dims the kernels take (32, 64, 128).
template <class F>
void with_head_tiles(int64_t Dh, F&& f) {
  if (Dh == 128)
    f.template operator()<8>();
  else if (Dh == 64)
    f.template operator()<4>();
  else
    f.template operator()<2>();
}

// Rows X[0..n) (ld apart, Dh floats each) asked into L2 to be read, or into the cache to be written: the
// next item's rows, asked for while an item runs, are otherwise cold misses at its start and end, which
// short items (a cross attention's few keys per row) spend much of their time waiting on. asm statements:
// with __builtin_prefetch (or _mm_prefetch) in this loop, GCC 12 emits none. PREFETCHW is the
// 3DNow!-prefetch instruction, which the AMX CPUs have.
inline void prefetch_rows(const float* X, int64_t ld, int64_t n, int64_t Dh, bool write) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < Dh; c += 16) {  // 16 floats: a cache line
      if (write)
        __asm__ __volatile__("prefetchw %0" ::"m"(X[r * ld + c]));
      else
        __asm__ __volatile__("prefetcht1 %0" ::"m"(X[r * ld + c]));
    }
}

// xt: the 16 rows X[0..n) (ld apart, rows past n zero) transposed in bf16 pairs, (Dh/2, 16) 32-bit words
// (x[r][2i], x[r][2i+1]): the B operand of a product over the head dim.
void load_pairs_transposed(const float* X, int64_t ld, int64_t n, int64_t Dh, uint32_t* xt);

// Sᵀ (32 keys × 16 rows, f32) of the keys from K (bf16 rows, ldk apart) with the rows' pairs qt -> st,
// through tiles 4, 5 (results) and 6, 7 (operands). Dh = 16·NT.
template <int NT>
BLT_AMX void qk_tiles(const uint32_t* qt, const bf16* K, int64_t ldk, float* st) {
  const int64_t kstride = ldk * static_cast<int64_t>(sizeof(bf16));
  memory_barrier();
  _tile_zero(4);
  _tile_zero(5);
  for (int cs = 0; cs < NT / 2; ++cs) {  // Sᵀ += K[:, 32cs..] · Qᵀ[32cs.., :]
    _tile_loadd(7, qt + cs * 16 * kLanes, 64);
    _tile_loadd(6, K + cs * 32, kstride);
    _tile_dpbf16ps(4, 6, 7);
    _tile_loadd(6, K + 16 * ldk + cs * 32, kstride);
    _tile_dpbf16ps(5, 6, 7);
  }
  _tile_stored(4, st, 64);
  _tile_stored(5, st + 16 * kLanes, 64);
}

}  // namespace blt::ops::detail::amx
