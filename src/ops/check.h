// Shape and dtype checks at op boundaries. They run in Release too and throw
// ShapeError naming the op and the shapes involved: "[linear] x (4,7) vs w (3,5)".
// The message is a literal or a callable run only on failure, so a passing
// check builds no string and allocates nothing (warm decoding steps rely on it).
#pragma once

#include <concepts>
#include <string>
#include <type_traits>

#include "core/graph.h"

namespace blt::ops {

inline std::string describe(const char* name, const Shape& s) { return std::string(name) + " " + s.str(); }

[[noreturn]] inline void shape_fail(const char* op, const std::string& what) {
  throw ShapeError(std::string("[") + op + "] " + what);
}

// what: a string literal, or a callable returning the message, e.g. [&] { return describe("x", s) + " ..."; }.
template <class What>
  requires std::convertible_to<What, const char*> || std::is_invocable_r_v<std::string, What>
inline void check(bool ok, const char* op, What&& what) {
  if (ok) [[likely]]
    return;
  if constexpr (std::convertible_to<What, const char*>)
    shape_fail(op, what);
  else
    shape_fail(op, what());
}

// A bf16 operand here (weights used as stored) is named as such: only linear and embedding read bf16.
inline void check_dtypes(const char* op, const Var& a, const Var& b) {
  if (a.dtype() != b.dtype())
    shape_fail(op, std::string("dtype ") + std::string(dtype_name(a.dtype())) + " vs " +
                       std::string(dtype_name(b.dtype())) +
                       (a.dtype() == DType::BF16 || b.dtype() == DType::BF16
                            ? std::string(": bf16 (weights used as stored) is read by linear and embedding only; ") +
                                  op + " needs float32 (run with --precision fp32)"
                            : ""));
}

// A bf16 copy given for `name` (shape s): its bf16 rounding, so of the same shape, in bf16.
inline void check_bf16_copy(const char* op, const char* name, const Shape& s, const char* copy_name,
                            const TensorView& copy) {
  check(!copy.defined() || (copy.shape() == s && copy.dtype() == DType::BF16), op, [&] {
    return describe(name, s) + " vs " + describe(copy_name, copy.shape()) + " " +
           std::string(dtype_name(copy.dtype()));
  });
}

}  // namespace blt::ops
