// RMSNorm over the last dimension: out = x · rsqrt(mean(x²) + eps) · w.
#pragma once

#include "core/bf16.h"
#include "core/graph.h"

namespace blt::ops {

// x (N,D), w (D) -> out (N,D); saves rstd (N). out_bf16 (N,D), when not null (float only): the output goes
// there instead, rounded to bf16 (core/bf16.h), and out is not written.
template <class T>
void rmsnorm_forward(const T* x, const T* w, T* out, T* rstd, int64_t N, int64_t D, double eps,
                     bf16* out_bf16 = nullptr);

// dx (N,D) accumulated; dw_partial (n_threads,D) overwritten with per-thread sums that the
// caller adds into dw in thread order (deterministic for a fixed thread count). Null skips.
template <class T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dout, T* dx, T* dw_partial, int64_t N,
                      int64_t D, int n_threads);

// x (..,D), w (D) -> (..,D). out_bf16, when defined (x's shape, bf16; float32 x): the output goes there
// instead, rounded to bf16, for the linears that read it (ops::bf16_input_buffer): the result's float32
// value is left unwritten (the backward does not read it either) and only its shape and gradient may be used.
Var rmsnorm(Graph& g, const Var& x, const Var& w, double eps, const TensorView& out_bf16 = {});

}  // namespace blt::ops
