// SwiGLU forward/backward. silu(a) = a σ(a); silu'(a) = σ(a) (1 + a (1 − σ(a))).
#include "ops/swiglu.h"

#include "ops/check.h"
#include "ops/vec_math.h"

namespace blt::ops {

template <class T>
void swiglu_forward(const T* a, const T* b, T* h, int64_t N) {
#pragma omp parallel for simd schedule(static) if (N > 65536)
  for (int64_t i = 0; i < N; ++i) h[i] = a[i] / (T(1) + exp_fast(-a[i])) * b[i];
}

template <class T>
void swiglu_backward(const T* a, const T* b, const T* dh, T* da, T* db, int64_t N) {
#pragma omp parallel for simd schedule(static) if (N > 65536)
  for (int64_t i = 0; i < N; ++i) {
    const T s = T(1) / (T(1) + exp_fast(-a[i]));
    if (da) da[i] += dh[i] * b[i] * s * (T(1) + a[i] * (T(1) - s));
    if (db) db[i] += dh[i] * a[i] * s;
  }
}

Var swiglu(Graph& g, const Var& a, const Var& b) {
  check(a.shape() == b.shape(), "swiglu", describe("a", a.shape()) + " vs " + describe("b", b.shape()));
  check_dtypes("swiglu", a, b);
  const int64_t N = a.shape().numel();
  Var h = g.output(a.shape(), a.dtype(), a.requires_grad() || b.requires_grad());
  dispatch(a.dtype(), [&]<class T>() { swiglu_forward<T>(a.value.data<T>(), b.value.data<T>(), h.value.data<T>(), N); });
  if (h.requires_grad()) {
    g.on_backward([a, b, h, N] {
      dispatch(a.dtype(), [&]<class T>() {
        swiglu_backward<T>(a.value.data<T>(), b.value.data<T>(), h.grad.data<T>(),
                           a.requires_grad() ? a.grad.data<T>() : nullptr,
                           b.requires_grad() ? b.grad.data<T>() : nullptr, N);
      });
    });
  }
  return h;
}

template void swiglu_forward<float>(const float*, const float*, float*, int64_t);
template void swiglu_forward<double>(const double*, const double*, double*, int64_t);
template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, int64_t);
template void swiglu_backward<double>(const double*, const double*, const double*, double*, double*, int64_t);

}  // namespace blt::ops
