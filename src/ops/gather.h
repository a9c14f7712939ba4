// Gather rows of a batched sequence by index: out[b,i] = x[b, idx[b,i]].
// It is an embedding lookup into the flattened x, so it reuses that op's
// kernels (forward gather, backward column-split scatter-add).
#pragma once

#include <span>

#include "core/graph.h"

namespace blt::ops {

// x (B,P,D), idx (B·N) with values in [0,P) -> (B,N,D)
Var gather_rows(Graph& g, const Var& x, std::span<const int32_t> idx, int64_t N);

}  // namespace blt::ops
