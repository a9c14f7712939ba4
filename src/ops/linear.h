// Linear layer without bias: y = x Wᵀ, with W stored (out, in) as in PyTorch.
// Forward and backward are three CBLAS GEMMs.
#pragma once

#include "core/graph.h"

namespace blt::ops {

// x (N,in), w (out,in) -> y (N,out)
template <class T>
void linear_forward(const T* x, const T* w, T* y, int64_t N, int64_t in, int64_t out);

// dx (N,in) and dw (out,in) accumulated (+=); either may be null.
template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, int64_t N, int64_t in, int64_t out);

// x (..,in), w (out,in) -> (..,out). FLOPs: 2·N·in·out forward, twice that backward.
Var linear(Graph& g, const Var& x, const Var& w);

}  // namespace blt::ops
