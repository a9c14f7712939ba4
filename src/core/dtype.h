// Element types of tensors. Compute is float32; float64 runs the identical
// kernels for finite-difference gradient checks and exact oracle comparisons;
// bf16 (core/bf16.h) is storage only: weights and matmul inputs, widened to
// float32 (or fed to the matrix engines) before anything computes with them.
// So kernels dispatch() over float/double and refuse bf16, and code that only
// stores or converts values dispatch_storage()s over all three.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/bf16.h"
#include "core/error.h"

namespace blt {

enum class DType { F32, F64, BF16 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::BF16: return 2;
  }
  throw InternalError("dtype_size: not a DType");
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::BF16: return "bf16";
  }
  throw InternalError("dtype_name: not a DType");
}

template <class T>
constexpr DType dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, bf16>,
                "tensors hold float, double or bf16");
  return std::is_same_v<T, float> ? DType::F32 : std::is_same_v<T, double> ? DType::F64 : DType::BF16;
}

// A float32 value stored as T: exact for float and double, rounded to nearest even for bf16.
template <class T>
T from_float(float v) {
  if constexpr (std::is_same_v<T, bf16>)
    return to_bf16(v);
  else
    return static_cast<T>(v);
}

// Calls fn.template operator()<T>() with T = float or double matching `t`:
//   dispatch(x.dtype(), [&]<class T>() { kernel<T>(...); });
// A bf16 tensor is refused (blt::Error): no kernel computes in bf16.
template <class Fn>
decltype(auto) dispatch(DType t, Fn&& fn) {
  if (t == DType::F32) return fn.template operator()<float>();
  if (t == DType::F64) return fn.template operator()<double>();
  throw Error("[dispatch] a " + std::string(dtype_name(t)) +
              " tensor on a float32/float64 kernel: bf16 is storage only (widen it to float32 first)");
}

// As dispatch, with T = bf16 for a bf16 tensor: for code that stores, copies or converts values.
template <class Fn>
decltype(auto) dispatch_storage(DType t, Fn&& fn) {
  if (t == DType::BF16) return fn.template operator()<bf16>();
  return dispatch(t, std::forward<Fn>(fn));
}

}  // namespace blt
