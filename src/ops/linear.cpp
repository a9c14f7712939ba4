// Linear forward/backward over blas::gemm, its mixed-precision twin over blas::gemm_bf16 (bf16 inputs,
// float32 outputs and gradients), and the float32 forward over bf16 weights used as stored
// (blas::gemm_f32_bf16).
#include "ops/linear.h"

#include "blas/gemm.h"
#include "blas/gemm_bf16.h"
#include "blas/gemm_f32_bf16.h"
#include "ops/check.h"
#include "ops/record.h"

namespace blt::ops {

template <class T>
void linear_forward(const T* x, const T* w, T* y, int64_t N, int64_t in, int64_t out) {
  // y (N,out) = x (N,in) · wᵀ (in,out)
  blas::gemm<T>(false, true, N, out, in, T(1), x, in, w, in, T(0), y, out);
}

template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, int64_t N, int64_t in, int64_t out,
                     bool overwrite_dx) {
  // dx (N,in) (+)= dy (N,out) · w (out,in)
  if (dx) blas::gemm<T>(false, false, N, in, out, T(1), dy, out, w, in, overwrite_dx ? T(0) : T(1), dx, in);
  // dw (out,in) += dyᵀ (out,N) · x (N,in)
  if (dw) blas::gemm<T>(true, false, out, in, N, T(1), dy, out, x, in, T(1), dw, in);
}

void linear_forward_bf16(const bf16* x, const bf16* w, float* y, int64_t N, int64_t in, int64_t out) {
  // y (N,out) = x (N,in) · wᵀ (in,out)
  blas::gemm_bf16(false, true, N, out, in, 1.f, x, in, w, in, 0.f, y, out);
}

void linear_backward_bf16(const bf16* x, const bf16* w, const bf16* dy, float* dx, float* dw, int64_t N,
                          int64_t in, int64_t out, bool overwrite_dx) {
  // dx (N,in) (+)= dy (N,out) · w (out,in)
  if (dx) blas::gemm_bf16(false, false, N, in, out, 1.f, dy, out, w, in, overwrite_dx ? 0.f : 1.f, dx, in);
  // dw (out,in) += dyᵀ (out,N) · x (N,in)
  if (dw) blas::gemm_bf16(true, false, out, in, N, 1.f, dy, out, x, in, 1.f, dw, in);
}

namespace {

// v (float32, n elements) rounded to bf16 into the graph's arena.
bf16* arena_bf16(Graph& g, const TensorView& v) {
  bf16* b = arena_array<bf16>(g, static_cast<size_t>(v.numel()));
  blas::to_bf16(v.data<float>(), b, v.numel());
  return b;
}

// Whether linear(g, x, w) takes its products in bf16: float32 x in a mixed-precision graph on a CPU with a
// bf16 matrix engine.
bool runs_bf16(const Graph& g, DType x_dtype) {
  return x_dtype == DType::F32 && g.precision() == Precision::BF16 && blas::has_bf16_matmul();
}

// The mixed-precision linear (see linear()): x and w in bf16, y and the gradients float32.
Var linear_bf16(Graph& g, const Var& x, const Var& w, const TensorView& w_bf16, const TensorView& x_bf16,
                const OpOutput& o, OpFlops flops) {
  const int64_t in = w.shape()[1], out = w.shape()[0], N = x.shape().rows();
  const bf16* xb = x_bf16.defined() ? x_bf16.data<bf16>() : arena_bf16(g, x.value);
  const bf16* wb = w_bf16.defined() ? w_bf16.data<bf16>() : arena_bf16(g, w.value);
  return record(
      g, o, flops, [&]<class T>(const Var& y) { linear_forward_bf16(xb, wb, y.value.data<float>(), N, in, out); },
      [=, gp = &g]<class T>(const Var& y) {
        const bf16* dyb = arena_bf16(*gp, y.grad());
        bool first = false;
        float* dx = grad_to_write_or_null<float>(x, first);
        linear_backward_bf16(xb, wb, dyb, dx, grad_or_null<float>(w), N, in, out, first);
      });
}

// A bf16 w (weights used as stored, for inference): x must be float32 and w takes no gradient; in bf16 (a
// mixed-precision graph with its engine) w is the products' bf16 operand itself, else the products are
// float32 (forward only: x takes no gradient either).
void check_stored_weight(const Graph& g, const Var& x, const Var& w) {
  const auto what = [&](const std::string& need) {
    return describe("w", w.shape()) + " is bf16 (weights used as stored): " + need;
  };
  check(x.dtype() == DType::F32, "linear",
        [&] { return what("x must be float32, got " + std::string(dtype_name(x.dtype()))); });
  check(!w.requires_grad(), "linear", [&] { return what("inference only, it takes no gradient"); });
  check(runs_bf16(g, x.dtype()) || !x.requires_grad(), "linear", [&] {
    return what("its float32 products (" + std::string(precision_name(g.precision())) +
                " graph, bf16 engine: " + blas::bf16_isa() + ") run forward only, x takes no gradient");
  });
}

// y (N,out) f32 = x (N,in) f32 · wᵀ, w (out,in) bf16 as stored; no backward (check_stored_weight).
Var linear_stored_f32(Graph& g, const Var& x, const Var& w, const OpOutput& o, double flops) {
  const int64_t in = w.shape()[1], out = w.shape()[0], N = x.shape().rows();
  return record(
      g, o, {flops, 0},
      [&]<class T>(const Var& y) {
        blas::gemm_f32_bf16(N, out, in, 1.f, x.value.data<float>(), in, w.value.data<bf16>(), in, 0.f,
                            y.value.data<float>(), out);
      },
      []<class T>(const Var&) {
        BLT_ASSERT(false && "a linear over bf16 weights in float32 records no backward");
      });
}

}  // namespace

TensorView bf16_input(Graph& g, const Var& x) {
  if (!runs_bf16(g, x.dtype())) return {};
  return TensorView(arena_bf16(g, x.value), x.shape(), DType::BF16);
}

TensorView bf16_input_buffer(Graph& g, const Shape& s, DType x_dtype) {
  if (!runs_bf16(g, x_dtype)) return {};
  return TensorView(arena_array<bf16>(g, static_cast<size_t>(s.numel())), s, DType::BF16);
}

Var linear(Graph& g, const Var& x, const Var& w, const TensorView& w_bf16, const TensorView& x_bf16) {
  check(w.shape().rank() == 2 && x.shape().rank() >= 1 && x.shape().last() == w.shape()[1], "linear",
        [&] { return describe("x", x.shape()) + " vs " + describe("w", w.shape()); });
  const bool stored = w.dtype() == DType::BF16;
  if (stored)
    check_stored_weight(g, x, w);
  else
    check_dtypes("linear", x, w);
  check_bf16_copy("linear", "w", w.shape(), "w_bf16", w_bf16);
  check_bf16_copy("linear", "x", x.shape(), "x_bf16", x_bf16);
  const int64_t in = w.shape()[1], out = w.shape()[0], N = x.shape().rows();
  const double flops = 2.0 * N * in * out;
  const OpOutput o{x.shape().with_last(out), x.dtype(), any_requires_grad(x, w)};
  if (runs_bf16(g, x.dtype()))  // a stored bf16 w is its own bf16 copy
    return linear_bf16(g, x, w, stored ? w.value : w_bf16, x_bf16, o, {flops, 2 * flops});
  if (stored) return linear_stored_f32(g, x, w, o, flops);
  return record(
      g, o, {flops, 2 * flops},
      [&]<class T>(const Var& y) {
        linear_forward<T>(x.value.data<T>(), w.value.data<T>(), y.value.data<T>(), N, in, out);
      },
      [=]<class T>(const Var& y) {
        bool first = false;
        T* dx = grad_to_write_or_null<T>(x, first);
        linear_backward<T>(x.value.data<T>(), w.value.data<T>(), y.grad().data<T>(), dx, grad_or_null<T>(w),
                           N, in, out, first);
      });
}

template void linear_forward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void linear_forward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);
template void linear_backward<float>(const float*, const float*, const float*, float*, float*, int64_t, int64_t,
                                     int64_t, bool);
template void linear_backward<double>(const double*, const double*, const double*, double*, double*, int64_t,
                                      int64_t, int64_t, bool);

}  // namespace blt::ops
