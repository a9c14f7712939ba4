// What the bf16 attention kernels on AMX tiles share (attention_amx.cpp, the forward;
// attention_amx_bwd.cpp, the backward): the tile configuration (all eight tiles 16 rows × 64 bytes), the
// bf16 pair layout of tile operands, the packing of K and V, Qᵀ pairs, the short exp2 that feeds
// bf16 probabilities, and the Sᵀ = K Qᵀ product. Query rows are vector lanes throughout.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/bf16.h"
#include "ops/attention.h"
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

// 16 words (a[c], b[c]) in bf16, c = 0..15: the pair layout of a tile operand.
BLT_AMX inline __m512i bf16_pairs(__m512 a, __m512 b) {
  alignas(64) static constexpr uint16_t kInterleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                                           21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                                           11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  return _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), (__m512i)_mm512_cvtne2ps_pbh(b, a));
}

// 2^t for t ≤ 12, 0 where t ≤ −126 (masked scores are −inf): 2^round(t) · 2^f with |f| ≤ 1/2 by the
// degree-5 series of e^(f·ln2), relative error < 2⁻¹⁸. Enough for probabilities rounded to bf16 next
// (ops::exp_fast is the exact-to-a-few-ulp exp of the float kernels).
BLT_AMX inline __m512 exp2_for_bf16(__m512 t) {
  t = _mm512_maskz_max_ps(0xffff, t, _mm512_set1_ps(-127.f));
  const __m512 n = _mm512_maskz_roundscale_ps(0xffff, t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(1.3333558146428443e-3f);  // ln2^k / k!, k = 5 .. 0
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618129107628477e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550410866482158e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402265069591007e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931471805599453e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
  return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(t, _mm512_set1_ps(-126.f), _CMP_GT_OQ), p, n);
}

// Whether lanes' key ranges [lo, hi) hold key j: the mask of a score vector.
BLT_AMX inline __mmask16 lanes_hold(__m512i lo, __m512i hi, int32_t j) {
  const __m512i key = _mm512_set1_epi32(j);
  return _mm512_cmple_epi32_mask(lo, key) & _mm512_cmpgt_epi32_mask(hi, key);
}

// x (B,Tk,Hkv,Dh) in bf16, its own layout, with kKeys zero rows after the last (a chunk may run past
// Tk): rows_size(d) elements.
int64_t rows_size(const AttnDims& d);
void pack_rows(const AttnDims& d, const float* x, bf16* y, bool parallel);
// x (B,Tk,Hkv,Dh) -> per (batch, kv head) (Tk/32 rounded up) blocks (Dh, 32) of xᵀ in bf16, keys past
// Tk zero: the A operand of a product over 32 keys. blocks_per_head(d) elements per (batch, kv head).
int64_t blocks_per_head(const AttnDims& d);
void pack_transposed(const AttnDims& d, const float* x, bf16* y, bool parallel);

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
