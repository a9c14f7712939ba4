// RMSNorm forward/backward.
//   y_j = x_j r w_j, r = (mean(x²) + eps)^(-1/2)
//   dx_j = r w_j dy_j - x_j r³ (1/D) Σ_k x_k w_k dy_k,   dw_j = Σ_rows dy_j x_j r
#include "ops/rmsnorm.h"

#include <cmath>
#include <type_traits>

#include "blas/gemm.h"
#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"

namespace blt::ops {

namespace {
constexpr double kParallelWork = 32768;  // below this many elements a call runs on one thread
}  // namespace

template <class T>
void rmsnorm_forward(const T* x, const T* w, T* out, T* rstd, int64_t N, int64_t D, double eps,
                     bf16* out_bf16) {
  parallel_for(N, worth_forking(static_cast<double>(N) * D, kParallelWork), [&](int64_t i) {
    const T* xi = x + i * D;
    double ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(xi[d]) * xi[d];
    const T r = static_cast<T>(1.0 / std::sqrt(ss / D + eps));
    rstd[i] = r;
    T* oi = out + i * D;
    if constexpr (std::is_same_v<T, float>) {
      if (out_bf16) {  // in bf16 only (core/bf16.h's rounding, which vectorises)
        bf16* bi = out_bf16 + i * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) bi[d] = to_bf16(xi[d] * r * w[d]);
        return;
      }
    }
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) oi[d] = xi[d] * r * w[d];
  });
}

template <class T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dout, T* dx, T* dw_partial, int64_t N,
                      int64_t D, int n_threads) {
  run_team(n_threads, [&](int tid, int nt) {
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
  });
}

Var rmsnorm(Graph& g, const Var& x, const Var& w, double eps, const TensorView& out_bf16) {
  check(w.shape().rank() == 1 && x.shape().last() == w.shape()[0], "rmsnorm",
        [&] { return describe("x", x.shape()) + " vs " + describe("weight", w.shape()); });
  check_dtypes("rmsnorm", x, w);
  check_bf16_copy("rmsnorm", "x", x.shape(), "out_bf16", out_bf16);
  check(!out_bf16.defined() || x.dtype() == DType::F32, "rmsnorm", "out_bf16 rounds a float32 output only");
  const int64_t D = w.shape()[0], N = x.shape().rows();
  TensorView rstd = g.scratch(Shape{N}, x.dtype());
  Graph* gp = &g;
  return record(
      g, {x.shape(), x.dtype(), any_requires_grad(x, w)}, {4.0 * N * D, 8.0 * N * D},
      [&]<class T>(const Var& out) {
        bf16* ob = out_bf16.defined() ? out_bf16.data<bf16>() : nullptr;
        rmsnorm_forward<T>(x.value.data<T>(), w.value.data<T>(), out.value.data<T>(), rstd.data<T>(), N, D, eps,
                           ob);
      },
      [=]<class T>(const Var& out) {
        // dw: per-thread partials summed here in thread order.
        const int nt = N * D > kParallelWork ? blas::num_threads() : 1;
        T* dwp = w.requires_grad() ? gp->scratch(Shape{nt, D}, w.dtype()).data<T>() : nullptr;
        rmsnorm_backward<T>(x.value.data<T>(), w.value.data<T>(), rstd.data<T>(), out.grad().data<T>(),
                            grad_or_null<T>(x), dwp, N, D, nt);
        if (dwp) {
          T* dw = w.grad().data<T>();
          for (int k = 0; k < nt; ++k)
            for (int64_t d = 0; d < D; ++d) dw[d] += dwp[k * D + d];
        }
      });
}

template void rmsnorm_forward<float>(const float*, const float*, float*, float*, int64_t, int64_t, double,
                                     bf16*);
template void rmsnorm_forward<double>(const double*, const double*, double*, double*, int64_t, int64_t,
                                      double, bf16*);
template void rmsnorm_backward<float>(const float*, const float*, const float*, const float*, float*, float*, int64_t,
                                      int64_t, int);
template void rmsnorm_backward<double>(const double*, const double*, const double*, const double*, double*, double*,
                                       int64_t, int64_t, int);

}  // namespace blt::ops
