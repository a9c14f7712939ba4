// Shape and dtype checks at op boundaries. They run in Release too and throw
// ShapeError naming the op and the shapes involved: "[linear] x (4,7) vs w (3,5)".
#pragma once

#include <string>

#include "core/graph.h"

namespace blt::ops {

inline std::string describe(const char* name, const Shape& s) { return std::string(name) + " " + s.str(); }

[[noreturn]] inline void shape_fail(const char* op, const std::string& what) {
  throw ShapeError(std::string("[") + op + "] " + what);
}

inline void check(bool ok, const char* op, const std::string& what) {
  if (!ok) shape_fail(op, what);
}

inline void check_dtypes(const char* op, const Var& a, const Var& b) {
  if (a.dtype() != b.dtype())
    shape_fail(op, std::string("dtype ") + std::string(dtype_name(a.dtype())) + " vs " +
                       std::string(dtype_name(b.dtype())));
}

}  // namespace blt::ops
