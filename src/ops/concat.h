// Concatenation along the last dimension and its inverse, a slice of the
// last dimension (split = several slices). Backward copies the matching
// column blocks back, accumulating.
#pragma once

#include <span>

#include "core/graph.h"

namespace blt::ops {

// xs[i] (..,D_i), equal leading dims -> (..,Σ D_i)
Var concat_last(Graph& g, std::span<const Var> xs);

// x (..,D) -> x[..., begin:end] (..,end-begin)
Var slice_last(Graph& g, const Var& x, int64_t begin, int64_t end);

}  // namespace blt::ops
