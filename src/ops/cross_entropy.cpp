// Cross-entropy forward/backward and row entropy. Row reductions accumulate in
// double so results do not depend on V's size or the summation order.
#include "ops/cross_entropy.h"

#include <cmath>

#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"
#include "ops/vec_math.h"

namespace blt::ops {

namespace {
constexpr double kParallelWork = 65536;  // below this many logits a call runs on one thread

// log Σ exp(row), with the max shifted out.
template <class T>
double log_sum_exp(const T* row, int64_t V) {
  T mx = row[0];
  for (int64_t j = 1; j < V; ++j) mx = std::max(mx, row[j]);
  double s = 0;
  for (int64_t j = 0; j < V; ++j) s += std::exp(static_cast<double>(row[j]) - mx);
  return mx + std::log(s);
}
}  // namespace

template <class T>
void cross_entropy_forward(const T* logits, const int32_t* targets, int32_t ignore_id, T* loss, T* lse, int64_t N,
                           int64_t V) {
  parallel_for(N, worth_forking(static_cast<double>(N) * V, kParallelWork), [&](int64_t i) {
    const T* row = logits + i * V;
    const double l = log_sum_exp(row, V);
    lse[i] = static_cast<T>(l);
    loss[i] = targets[i] == ignore_id ? T(0) : static_cast<T>(l - row[targets[i]]);
  });
}

template <class T>
void cross_entropy_backward(const T* logits, const int32_t* targets, int32_t ignore_id, const T* lse, T row_weight,
                            T* dlogits, int64_t N, int64_t V) {
  parallel_for(N, worth_forking(static_cast<double>(N) * V, kParallelWork), [&](int64_t i) {
    if (targets[i] == ignore_id) return;
    const T* row = logits + i * V;
    T* d = dlogits + i * V;
    const T l = lse[i];
#pragma omp simd
    for (int64_t j = 0; j < V; ++j) d[j] += row_weight * exp_fast(row[j] - l);
    d[targets[i]] -= row_weight;
  });
}

Var cross_entropy(Graph& g, const Var& logits, std::span<const int32_t> targets, Reduction reduction,
                  int32_t ignore_id) {
  const int64_t V = logits.shape().last(), N = logits.shape().rows();
  check(static_cast<int64_t>(targets.size()) == N, "cross_entropy",
        [&] { return std::to_string(targets.size()) + " targets for " + describe("logits", logits.shape()); });
  int64_t count = 0;
  for (int32_t t : targets) {
    if (t == ignore_id) continue;
    check(t >= 0 && t < V, "cross_entropy",
          [&] { return "target " + std::to_string(t) + " outside vocabulary of " + std::to_string(V); });
    ++count;
  }
  TensorView lse = g.scratch(Shape{N}, logits.dtype());
  TensorView rows = g.scratch(Shape{N}, logits.dtype());
  const double weight = reduction == Reduction::Sum ? 1.0 : (count ? 1.0 / count : 0.0);
  return record(
      g, {Shape{1}, logits.dtype(), logits.requires_grad()}, {},
      [&]<class T>(const Var& out) {
        cross_entropy_forward<T>(logits.value.data<T>(), targets.data(), ignore_id, rows.data<T>(), lse.data<T>(), N,
                                 V);
        double total = 0;
        for (int64_t i = 0; i < N; ++i) total += rows.data<T>()[i];
        *out.value.data<T>() = static_cast<T>(total * weight);
      },
      [=]<class T>(const Var& out, std::span<const int32_t> targets) {
        const T w = static_cast<T>(weight * *out.grad().data<T>());
        cross_entropy_backward<T>(logits.value.data<T>(), targets.data(), ignore_id, lse.data<T>(), w,
                                  logits.grad().data<T>(), N, V);
      },
      targets);
}

void row_entropy(const TensorView& logits, const TensorView& out) {
  const int64_t V = logits.shape().last(), N = logits.shape().rows();
  if (out.numel() != N || out.dtype() != logits.dtype())
    shape_fail("entropy", describe("logits", logits.shape()) + " vs " + describe("out", out.shape()));
  dispatch(logits.dtype(), [&]<class T>() {
    const T* x = logits.data<T>();
    T* h = out.data<T>();
    parallel_for(N, worth_forking(static_cast<double>(N) * V, kParallelWork), [&](int64_t i) {
      const T* row = x + i * V;
      const double l = log_sum_exp(row, V);
      double acc = 0;  // −Σ p log p with log p = x − lse
      for (int64_t j = 0; j < V; ++j) {
        const double lp = row[j] - l;
        acc -= std::exp(lp) * lp;
      }
      h[i] = static_cast<T>(acc);
    });
  });
}

template void cross_entropy_forward<float>(const float*, const int32_t*, int32_t, float*, float*, int64_t, int64_t);
template void cross_entropy_forward<double>(const double*, const int32_t*, int32_t, double*, double*, int64_t,
                                            int64_t);
template void cross_entropy_backward<float>(const float*, const int32_t*, int32_t, const float*, float, float*,
                                            int64_t, int64_t);
template void cross_entropy_backward<double>(const double*, const int32_t*, int32_t, const double*, double, double*,
                                             int64_t, int64_t);

}  // namespace blt::ops
