// add and scale: forward and backward (d(a+b)/da = 1, d(s x)/dx = s). A gradient that nothing has written
// yet is written (Var::grad_to_write), not zeroed and then added to.
#include "ops/elementwise.h"

#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"

namespace blt::ops {

namespace {
constexpr double kParallelWork = 65536;  // below this many elements a call runs on one thread

// a, b (n) -> out (n) = a + b
template <class T>
void add_into(T* out, const T* a, const T* b, int64_t n) {
  parallel_blocks(n, worth_forking(n, kParallelWork), [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) out[i] = a[i] + b[i];
  });
}

// x (n) -> out (n) = s x
template <class T>
void scale_into(T* out, const T* x, T s, int64_t n) {
  parallel_blocks(n, worth_forking(n, kParallelWork), [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) out[i] = s * x[i];
  });
}

// y (n) += s x
template <class T>
void axpy(T* y, const T* x, T s, int64_t n) {
  parallel_blocks(n, worth_forking(n, kParallelWork), [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) y[i] += s * x[i];
  });
}

// The backward of both: v's gradient gets s·dy (n), written if it is v's first contribution, else added.
template <class T>
void add_scaled_grad(const Var& v, const T* dy, T s, int64_t n) {
  bool first = false;
  T* dv = grad_to_write_or_null<T>(v, first);
  if (!dv) return;
  if (first)
    scale_into<T>(dv, dy, s, n);
  else
    axpy<T>(dv, dy, s, n);
}
}  // namespace

Var add(Graph& g, const Var& a, const Var& b) {
  check(a.shape() == b.shape(), "add", [&] { return describe("a", a.shape()) + " vs " + describe("b", b.shape()); });
  check_dtypes("add", a, b);
  const int64_t n = a.shape().numel();
  return record(
      g, {a.shape(), a.dtype(), any_requires_grad(a, b)}, {},
      [&]<class T>(const Var& out) {
        add_into<T>(out.value.data<T>(), a.value.data<T>(), b.value.data<T>(), n);
      },
      [=]<class T>(const Var& out) {
        add_scaled_grad<T>(a, out.grad().data<T>(), T(1), n);  // add(x, x): written, then added
        add_scaled_grad<T>(b, out.grad().data<T>(), T(1), n);
      });
}

Var scale(Graph& g, const Var& x, double s) {
  const int64_t n = x.shape().numel();
  return record(
      g, {x.shape(), x.dtype(), x.requires_grad()}, {},
      [&]<class T>(const Var& out) {
        scale_into<T>(out.value.data<T>(), x.value.data<T>(), static_cast<T>(s), n);
      },
      [=]<class T>(const Var& out) { add_scaled_grad<T>(x, out.grad().data<T>(), static_cast<T>(s), n); });
}

}  // namespace blt::ops
