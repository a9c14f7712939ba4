// Pooling of contiguous segments (patches) of a sequence: max, mean or min per
// feature. An empty segment pools to 0 (the reference's scatter_reduce into
// zeros with include_self=False). Ties in max/min: the gradient is split
// evenly among the tied positions, as torch's scatter_reduce amax/amin backward.
#pragma once

#include <span>

#include "core/graph.h"

namespace blt::ops {

enum class PoolMode { Max, Mean, Min };

// x (B,T,D), offsets (B,P+1) nondecreasing in [0,T] (segment p = [off_p, off_p+1)) -> out (B,P,D)
template <class T>
void segment_pool_forward(PoolMode mode, const T* x, const int32_t* offsets, T* out, int64_t B, int64_t Tn, int64_t P,
                          int64_t D);

// dx (B,T,D) accumulated
template <class T>
void segment_pool_backward(PoolMode mode, const T* x, const int32_t* offsets, const T* out, const T* dout, T* dx,
                           int64_t B, int64_t Tn, int64_t P, int64_t D);

// x (B,T,D), offsets (B·(P+1)) -> (B,P,D). `offsets` is copied for backward.
Var segment_pool(Graph& g, const Var& x, std::span<const int32_t> offsets, int64_t P, PoolMode mode);

}  // namespace blt::ops
