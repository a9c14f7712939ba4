// Element types of tensors. Compute is float32; float64 runs the identical
// kernels for finite-difference gradient checks and exact oracle comparisons.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace blt {

enum class DType { F32, F64 };

constexpr size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 8; }
constexpr std::string_view dtype_name(DType t) { return t == DType::F32 ? "f32" : "f64"; }

template <class T>
constexpr DType dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "tensors hold float or double");
  return std::is_same_v<T, float> ? DType::F32 : DType::F64;
}

// Calls fn.template operator()<T>() with T = float or double matching `t`:
//   dispatch(x.dtype(), [&]<class T>() { kernel<T>(...); });
template <class Fn>
decltype(auto) dispatch(DType t, Fn&& fn) {
  if (t == DType::F32) return fn.template operator()<float>();
  return fn.template operator()<double>();
}

}  // namespace blt
