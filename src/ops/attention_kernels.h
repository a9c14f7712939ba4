// The fast attention forward kernels behind ops::attention, each chosen at run
// time from the CPU's features (attention.cpp keeps the portable tiled kernel,
// float and double, and the backward):
//   attention_f32.cpp : fp32 on AVX-512, query rows in vector lanes, the online
//                       softmax in registers and one pass over each score chunk;
//   attention_f32_avx2.cpp : the same on AVX2 at half the width, where there is no AVX-512;
//   attention_f32_avx2_bwd.cpp : the fp32 backward on AVX2, the five products in registers;
//   attention_amx.cpp : bf16 QKᵀ and PV on AMX tiles (f32 accumulation, softmax
//                       and log-sum-exp in f32), for Precision::BF16;
//   attention_amx_bwd.cpp : its backward, the five products on AMX tiles, P and dS in f32;
//   attention_avx512bf16.cpp : the bf16 forward where there is AVX512-BF16 but no AMX, both products
//                       on VDPBF16PS;
//   attention_avx512bf16_bwd.cpp : its backward, the five products on VDPBF16PS, P and dS in f32.
// The forwards have attention_forward's contract (same shapes, lse saved for backward), the bf16
// backward attention_backward's.
#pragma once

#include "ops/attention.h"

namespace blt::ops::detail {

// Whether attention_forward_f32 runs on this CPU (AVX-512F) and pays at these dims (enough query rows).
bool use_attention_f32(const AttnDims& d);
// q (B,Tq,Hq,Dh), k,v (B,Tk,Hkv,Dh), ranges (B,Tq) -> out (B,Tq,Hq,Dh); saves lse (B,Hq,Tq)
void attention_forward_f32(const AttnDims& d, const float* q, const float* k, const float* v,
                           const KeyRange* ranges, float* out, float* lse);
// Whether attention_forward_f32_avx2 runs on this CPU (AVX2 and FMA) and pays at these dims; the graph
// takes it where attention_forward_f32 does not run.
bool use_attention_f32_avx2(const AttnDims& d);
// attention_forward_f32's contract.
void attention_forward_f32_avx2(const AttnDims& d, const float* q, const float* k, const float* v,
                                const KeyRange* ranges, float* out, float* lse);
// Whether attention_backward_f32_avx2 runs here: attention_forward_f32_avx2 does, Dh a multiple of 8 up to
// 128. The graph takes it where attention_forward_f32 does not run (on AVX-512 CPUs the tiled backward
// stays: this one is unmeasured there).
bool use_attention_f32_avx2_backward(const AttnDims& d);
// attention_backward's contract in fp32 (dq, dk, dv accumulated, any may be null), from any fp32 forward's
// lse.
void attention_backward_f32_avx2(const AttnDims& d, const float* q, const float* k, const float* v,
                                 const KeyRange* ranges, const float* out, const float* lse,
                                 const float* dout, float* dq, float* dk, float* dv);

// Whether attention_forward_amx and attention_backward_amx run here: AMX-BF16 with the OS's permission
// for the tile data, Dh 32, 64 or 128, enough query rows.
bool use_attention_amx(const AttnDims& d);
// Same shapes as attention_forward_f32; q, k, v and the probabilities P are rounded to bf16 for the
// two products, everything else is f32.
void attention_forward_amx(const AttnDims& d, const float* q, const float* k, const float* v,
                           const KeyRange* ranges, float* out, float* lse);
// Whether attention_forward_avx512bf16 runs here: AVX512-BF16, even Dh, enough query rows.
bool use_attention_avx512bf16(const AttnDims& d);
// attention_forward_amx's contract (q, k, v and P rounded to bf16 for the products, the rest f32).
void attention_forward_avx512bf16(const AttnDims& d, const float* q, const float* k, const float* v,
                                  const KeyRange* ranges, float* out, float* lse);
// Same shapes as attention_backward (dq, dk, dv accumulated, any may be null), from the lse of a bf16
// forward; q, k, v, dO, P and dS are rounded to bf16 for the products, D = rowsum(dO ∘ O), P and dS
// are computed in f32.
void attention_backward_amx(const AttnDims& d, const float* q, const float* k, const float* v,
                            const KeyRange* ranges, const float* out, const float* lse, const float* dout,
                            float* dq, float* dk, float* dv);

// Whether attention_backward_avx512bf16 runs here: attention_forward_avx512bf16 does, Dh a multiple of 16
// up to 128.
bool use_attention_avx512bf16_backward(const AttnDims& d);
// attention_backward_amx's contract, on VDPBF16PS.
void attention_backward_avx512bf16(const AttnDims& d, const float* q, const float* k, const float* v,
                                   const KeyRange* ranges, const float* out, const float* lse, const float* dout,
                                   float* dq, float* dk, float* dv);

}  // namespace blt::ops::detail
