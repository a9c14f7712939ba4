// Elementwise arithmetic on equal shapes: add (residuals) and scale.
#pragma once

#include "core/graph.h"

namespace blt::ops {

// a, b (any shape, equal) -> a + b
Var add(Graph& g, const Var& a, const Var& b);

// x (any shape) -> s · x
Var scale(Graph& g, const Var& x, double s);

}  // namespace blt::ops
