// RMSNorm forward/backward.
//   y_j = x_j r w_j, r = (mean(x²) + eps)^(-1/2)
//   dx_j = r w_j dy_j - x_j r³ (1/D) Σ_k x_k w_k dy_k,   dw_j = Σ_rows dy_j x_j r
#include "ops/rmsnorm.h"

#include <omp.h>

#include <cmath>

#include "blas/gemm.h"
#include "ops/check.h"

namespace blt::ops {

template <class T>
void rmsnorm_forward(const T* x, const T* w, T* out, T* rstd, int64_t N, int64_t D, double eps) {
#pragma omp parallel for schedule(static) if (N * D > 32768)
  for (int64_t i = 0; i < N; ++i) {
    const T* xi = x + i * D;
    double ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(xi[d]) * xi[d];
    const T r = static_cast<T>(1.0 / std::sqrt(ss / D + eps));
    rstd[i] = r;
    T* oi = out + i * D;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) oi[d] = xi[d] * r * w[d];
  }
}

template <class T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dout, T* dx, T* dw_partial, int64_t N,
                      int64_t D, int n_threads) {
#pragma omp parallel num_threads(n_threads)
  {
    const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t r0 = N * tid / nt, r1 = N * (tid + 1) / nt;
    T* dwp = dw_partial ? dw_partial + static_cast<int64_t>(tid) * D : nullptr;
    if (dwp)
      for (int64_t d = 0; d < D; ++d) dwp[d] = 0;
    for (int64_t i = r0; i < r1; ++i) {
      const T* xi = x + i * D;
      const T* gi = dout + i * D;
      const T r = rstd[i];
      if (dx) {
        double dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(xi[d]) * w[d] * gi[d];
        const T c = static_cast<T>(dot / D) * r * r * r;
        T* dxi = dx + i * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) dxi[d] += r * w[d] * gi[d] - xi[d] * c;
      }
      if (dwp) {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) dwp[d] += gi[d] * xi[d] * r;
      }
    }
    if (nt < n_threads && dwp && tid == 0)  // fewer threads than asked: clear the unused partials
      for (int64_t k = nt; k < n_threads; ++k)
        for (int64_t d = 0; d < D; ++d) dw_partial[k * D + d] = 0;
  }
}

Var rmsnorm(Graph& g, const Var& x, const Var& w, double eps) {
  check(w.shape().rank() == 1 && x.shape().last() == w.shape()[0], "rmsnorm",
        describe("x", x.shape()) + " vs " + describe("weight", w.shape()));
  check_dtypes("rmsnorm", x, w);
  const int64_t D = w.shape()[0], N = x.shape().rows();
  Var out = g.output(x.shape(), x.dtype(), x.requires_grad() || w.requires_grad());
  TensorView rstd = g.scratch(Shape{N}, x.dtype());
  dispatch(x.dtype(), [&]<class T>() {
    rmsnorm_forward<T>(x.value.data<T>(), w.value.data<T>(), out.value.data<T>(), rstd.data<T>(), N, D, eps);
  });
  g.count_forward(4.0 * N * D);
  if (out.requires_grad()) {
    Graph* gp = &g;
    g.on_backward([x, w, out, rstd, N, D, gp] {
      const int nt = N * D > 32768 ? blas::num_threads() : 1;
      TensorView partial = w.requires_grad() ? gp->scratch(Shape{nt, D}, w.dtype()) : TensorView{};
      dispatch(x.dtype(), [&]<class T>() {
        T* dwp = partial.defined() ? partial.data<T>() : nullptr;
        rmsnorm_backward<T>(x.value.data<T>(), w.value.data<T>(), rstd.data<T>(), out.grad.data<T>(),
                            x.requires_grad() ? x.grad.data<T>() : nullptr, dwp, N, D, nt);
        if (dwp) {
          T* dw = w.grad.data<T>();
          for (int k = 0; k < nt; ++k)
            for (int64_t d = 0; d < D; ++d) dw[d] += dwp[k * D + d];
        }
      });
      gp->count_backward(8.0 * N * D);
    });
  }
  return out;
}

template void rmsnorm_forward<float>(const float*, const float*, float*, float*, int64_t, int64_t, double);
template void rmsnorm_forward<double>(const double*, const double*, double*, double*, int64_t, int64_t, double);
template void rmsnorm_backward<float>(const float*, const float*, const float*, const float*, float*, float*, int64_t,
                                      int64_t, int);
template void rmsnorm_backward<double>(const double*, const double*, const double*, const double*, double*, double*,
                                       int64_t, int64_t, int);

}  // namespace blt::ops
