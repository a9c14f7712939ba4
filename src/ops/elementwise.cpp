// add and scale: forward and backward (gradients accumulate, d(a+b)/da = 1, d(s x)/dx = s).
#include "ops/elementwise.h"

#include "ops/check.h"

namespace blt::ops {

namespace {
template <class T>
void axpy(T* y, const T* x, T s, int64_t n) {  // y += s x
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] += s * x[i];
}
}  // namespace

Var add(Graph& g, const Var& a, const Var& b) {
  check(a.shape() == b.shape(), "add", describe("a", a.shape()) + " vs " + describe("b", b.shape()));
  check_dtypes("add", a, b);
  const int64_t n = a.shape().numel();
  Var out = g.output(a.shape(), a.dtype(), a.requires_grad() || b.requires_grad());
  dispatch(a.dtype(), [&]<class T>() {
    const T *pa = a.value.data<T>(), *pb = b.value.data<T>();
    T* po = out.value.data<T>();
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
  });
  if (out.requires_grad()) {
    g.on_backward([a, b, out, n] {
      dispatch(a.dtype(), [&]<class T>() {
        if (a.requires_grad()) axpy<T>(a.grad.data<T>(), out.grad.data<T>(), T(1), n);
        if (b.requires_grad()) axpy<T>(b.grad.data<T>(), out.grad.data<T>(), T(1), n);
      });
    });
  }
  return out;
}

Var scale(Graph& g, const Var& x, double s) {
  const int64_t n = x.shape().numel();
  Var out = g.output(x.shape(), x.dtype(), x.requires_grad());
  dispatch(x.dtype(), [&]<class T>() {
    const T* px = x.value.data<T>();
    T* po = out.value.data<T>();
    const T st = static_cast<T>(s);
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) po[i] = st * px[i];
  });
  if (out.requires_grad()) {
    g.on_backward([x, out, n, s] {
      dispatch(x.dtype(), [&]<class T>() { axpy<T>(x.grad.data<T>(), out.grad.data<T>(), static_cast<T>(s), n); });
    });
  }
  return out;
}

}  // namespace blt::ops
