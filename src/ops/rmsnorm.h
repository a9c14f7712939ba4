// RMSNorm over the last dimension: out = x · rsqrt(mean(x²) + eps) · w.
#pragma once

#include "core/graph.h"

namespace blt::ops {

// x (N,D), w (D) -> out (N,D); saves rstd (N)
template <class T>
void rmsnorm_forward(const T* x, const T* w, T* out, T* rstd, int64_t N, int64_t D, double eps);

// dx (N,D) accumulated; dw_partial (n_threads,D) overwritten with per-thread sums that the
// caller adds into dw in thread order (deterministic for a fixed thread count). Null skips.
template <class T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dout, T* dx, T* dw_partial, int64_t N,
                      int64_t D, int n_threads);

// x (..,D), w (D) -> (..,D)
Var rmsnorm(Graph& g, const Var& x, const Var& w, double eps);

}  // namespace blt::ops
