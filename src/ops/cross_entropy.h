// Softmax cross-entropy over the last dimension, in nats, with an ignore id;
// and the per-row entropy of a softmax (inference only, no backward).
#pragma once

#include <span>

#include "core/graph.h"

namespace blt::ops {

enum class Reduction { Sum, Mean };

// logits (N,V), targets (N) -> per-row loss (N) (0 where ignored); saves lse (N)
template <class T>
void cross_entropy_forward(const T* logits, const int32_t* targets, int32_t ignore_id, T* loss, T* lse, int64_t N,
                           int64_t V);

// dlogits (N,V) accumulated with row_weight·(softmax − onehot), skipping ignored rows
template <class T>
void cross_entropy_backward(const T* logits, const int32_t* targets, int32_t ignore_id, const T* lse, T row_weight,
                            T* dlogits, int64_t N, int64_t V);

// logits (..,V), targets (rows) -> scalar: Σ or mean over targets != ignore_id (mean of none is 0).
// Targets outside [0,V) other than ignore_id throw. `targets` is copied for backward.
Var cross_entropy(Graph& g, const Var& logits, std::span<const int32_t> targets, Reduction reduction,
                  int32_t ignore_id = -1);

// logits (N,V) -> out (N): H = −Σ p log p with p = softmax(row), natural log.
void row_entropy(const TensorView& logits, const TensorView& out);

}  // namespace blt::ops
