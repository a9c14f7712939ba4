// The SiLU-gated product of the feed-forward layer: h = silu(a) · b, where
// a = w1 x and b = w3 x (the FFN is w2(silu(w1 x) · w3 x), composed in nn/).
#pragma once

#include "core/graph.h"

namespace blt::ops {

// a (N), b (N) -> h (N), elementwise
template <class T>
void swiglu_forward(const T* a, const T* b, T* h, int64_t N);

// da, db (N) accumulated; either may be null
template <class T>
void swiglu_backward(const T* a, const T* b, const T* dh, T* da, T* db, int64_t N);

// a (..,F), b (..,F) -> (..,F)
Var swiglu(Graph& g, const Var& a, const Var& b);

}  // namespace blt::ops
