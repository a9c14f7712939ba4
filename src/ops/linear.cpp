// Linear forward/backward over blas::gemm.
#include "ops/linear.h"

#include "blas/gemm.h"
#include "ops/check.h"
#include "ops/record.h"

namespace blt::ops {

template <class T>
void linear_forward(const T* x, const T* w, T* y, int64_t N, int64_t in, int64_t out) {
  // y (N,out) = x (N,in) · wᵀ (in,out)
  blas::gemm<T>(false, true, N, out, in, T(1), x, in, w, in, T(0), y, out);
}

template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, int64_t N, int64_t in, int64_t out) {
  // dx (N,in) += dy (N,out) · w (out,in)
  if (dx) blas::gemm<T>(false, false, N, in, out, T(1), dy, out, w, in, T(1), dx, in);
  // dw (out,in) += dyᵀ (out,N) · x (N,in)
  if (dw) blas::gemm<T>(true, false, out, in, N, T(1), dy, out, x, in, T(1), dw, in);
}

Var linear(Graph& g, const Var& x, const Var& w) {
  check(w.shape().rank() == 2 && x.shape().rank() >= 1 && x.shape().last() == w.shape()[1], "linear",
        [&] { return describe("x", x.shape()) + " vs " + describe("w", w.shape()); });
  check_dtypes("linear", x, w);
  const int64_t in = w.shape()[1], out = w.shape()[0], N = x.shape().rows();
  const double flops = 2.0 * N * in * out;
  return record(
      g, {x.shape().with_last(out), x.dtype(), any_requires_grad(x, w)}, {flops, 2 * flops},
      [&]<class T>(const Var& y) {
        linear_forward<T>(x.value.data<T>(), w.value.data<T>(), y.value.data<T>(), N, in, out);
      },
      [=]<class T>(const Var& y) {
        linear_backward<T>(x.value.data<T>(), w.value.data<T>(), y.grad.data<T>(), grad_or_null<T>(x),
                           grad_or_null<T>(w), N, in, out);
      });
}

template void linear_forward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void linear_forward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);
template void linear_backward<float>(const float*, const float*, const float*, float*, float*, int64_t, int64_t,
                                     int64_t);
template void linear_backward<double>(const double*, const double*, const double*, double*, double*, int64_t,
                                      int64_t, int64_t);

}  // namespace blt::ops
