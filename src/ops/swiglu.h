// The SiLU-gated product of the feed-forward layer: h = silu(a) · b, where
// a = w1 x and b = w3 x (the FFN is w2(silu(w1 x) · w3 x), composed in nn/).
#pragma once

#include "core/bf16.h"
#include "core/graph.h"

namespace blt::ops {

// a (N), b (N) -> h (N), elementwise; h_bf16 (N), when not null (float only): the output goes there
// instead, rounded to bf16 (core/bf16.h), and h is not written.
template <class T>
void swiglu_forward(const T* a, const T* b, T* h, int64_t N, bf16* h_bf16 = nullptr);

// da, db (N) accumulated, or overwritten where overwrite_da / overwrite_db; either may be null
template <class T>
void swiglu_backward(const T* a, const T* b, const T* dh, T* da, T* db, int64_t N, bool overwrite_da = false,
                     bool overwrite_db = false);

// a (..,F), b (..,F) -> (..,F). h_bf16, when defined (a's shape, bf16; float32 a, b): the output goes there
// instead, rounded to bf16, for the linear that reads it (ops::bf16_input_buffer): the result's float32 value
// is left unwritten (the backward reads a and b) and only its shape and gradient may be used.
Var swiglu(Graph& g, const Var& a, const Var& b, const TensorView& h_bf16 = {});

}  // namespace blt::ops
