// Multi-head attention with grouped KV heads, scale 1/sqrt(Dh) (or given),
// and the mask given per query as one allowed key range [lo, hi). That one
// form covers every mask BLT needs: causal, sliding window, block-causal at
// document ends, local block-causal, and the encoder/decoder cross-attention
// masks (see mask.h for the builders).
//
// Tiled with an online softmax (flash-attention style): memory is O(T·Dh)
// plus one tile per thread, key tiles outside every query's range are
// skipped, and the backward pass recomputes scores from the saved
// log-sum-exp. Query rows with an empty range output 0 (as flex_attention).
// float forwards of 16 or more query rows run the AVX-512 kernels of attention_kernels.h.
#pragma once

#include <span>

#include "core/graph.h"

namespace blt::ops {

struct KeyRange {
  int32_t lo = 0;  // first allowed key
  int32_t hi = 0;  // one past the last allowed key; lo >= hi means none
};

struct AttnDims {
  int64_t B, Tq, Tk, Hq, Hkv, Dh;
  double scale;
};

// Number of unmasked (query, key) pairs of one head: Σ_q max(0, hi_q − lo_q) over (B,Tq).
int64_t attention_pairs(std::span<const KeyRange> ranges);

// q (B,Tq,Hq,Dh), k,v (B,Tk,Hkv,Dh), ranges (B,Tq) -> out (B,Tq,Hq,Dh); saves lse (B,Hq,Tq)
template <class T>
void attention_forward(const AttnDims& d, const T* q, const T* k, const T* v, const KeyRange* ranges, T* out, T* lse);

// dq (B,Tq,Hq,Dh), dk, dv (B,Tk,Hkv,Dh) accumulated; any may be null
template <class T>
void attention_backward(const AttnDims& d, const T* q, const T* k, const T* v, const KeyRange* ranges, const T* out,
                        const T* lse, const T* dout, T* dq, T* dk, T* dv);

// The O(Tq·Tk) reference: explicit masked softmax, accumulated in double.
template <class T>
void attention_forward_naive(const AttnDims& d, const T* q, const T* k, const T* v, const KeyRange* ranges, T* out);

// q (B,Tq,Hq,Dh), k, v (B,Tk,Hkv,Dh), ranges (B·Tq) -> (B,Tq,Hq,Dh). Hq must be a multiple of Hkv;
// query head h reads kv head h / (Hq/Hkv). `ranges` is copied for backward: the caller may reuse it at once.
// FLOPs: 4·Dh per unmasked pair and head forward, 8·Dh backward. Under Precision::BF16 on a CPU with AMX
// (head dims 32, 64, 128) the forward rounds q, k, v and the probabilities to bf16 for its two products
// (attention_amx.cpp), and the backward q, k, v, dout, P and dS for its five (attention_amx_bwd.cpp); on
// AVX512-BF16 without AMX both do the same on VDPBF16PS (attention_avx512bf16*.cpp; even head dims for the
// forward alone, multiples of 16 up to 128 under a gradient, else both are fp32).
Var attention(Graph& g, const Var& q, const Var& k, const Var& v, std::span<const KeyRange> ranges, double scale);

}  // namespace blt::ops
