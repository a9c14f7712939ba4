// AdamW update, gradient clipping and the warmup+cosine schedule. The loops
// over the parameter arenas fork a team only with more than one thread (even a
// one-thread OpenMP region allocates in libgomp; a warm step allocates nothing).
#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ops/parallel.h"

namespace blt::train {

namespace {
// Whether a pass over n parameter entries forks a team.
bool fork_over(int64_t n) { return ops::worth_forking(static_cast<double>(n), 1 << 15); }
}  // namespace

double lr_factor(const ScheduleConfig& c, int64_t step) {
  if (step <= c.warmup && c.warmup > 0) return static_cast<double>(step) / c.warmup;
  if (c.total <= c.warmup) return 1.0;
  const double s = std::clamp(static_cast<double>(step - c.warmup) / static_cast<double>(c.total - c.warmup), 0.0, 1.0);
  return c.min_ratio + 0.5 * (1 - c.min_ratio) * (1 + std::cos(std::numbers::pi * s));
}

double clip_grad_norm(const nn::ParamRegistry& reg, double max_norm) {
  TensorView g = reg.grads();
  const int64_t n = g.numel();
  double norm = 0;
  dispatch(g.dtype(), [&]<class T>() {
    const T* p = g.data<T>();
    norm = std::sqrt(ops::parallel_sum(n, fork_over(n), [&](int64_t i) { return static_cast<double>(p[i]) * p[i]; }));
    if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {  // a non-finite norm is the caller's to report
      const T c = static_cast<T>(max_norm / (norm + 1e-6));
      T* q = g.data<T>();
      ops::parallel_blocks(n, fork_over(n), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) q[i] *= c;
      });
    }
  });
  return norm;
}

AdamW::AdamW(const nn::ParamRegistry& reg, AdamWConfig cfg)
    : reg_(reg), cfg_(cfg), m_(Tensor::zeros(Shape{reg.numel()}, reg.dtype())), v_(Tensor::zeros(Shape{reg.numel()}, reg.dtype())) {
  if (!reg.trainable()) throw InternalError("AdamW over a registry without gradients");
}

void AdamW::step(double lr) {
  ++step_;
  const double bc1 = 1 - std::pow(cfg_.beta1, static_cast<double>(step_));
  const double bc2 = 1 - std::pow(cfg_.beta2, static_cast<double>(step_));
  const int64_t n = reg_.numel();
  dispatch(reg_.dtype(), [&]<class T>() {
    T* p = reg_.values().data<T>();
    const T* g = reg_.grads().data<T>();
    T* m = m_.data<T>();
    T* v = v_.data<T>();
    const T b1 = static_cast<T>(cfg_.beta1), b2 = static_cast<T>(cfg_.beta2);
    const T decay = static_cast<T>(1 - lr * cfg_.weight_decay);
    const T step_size = static_cast<T>(lr / bc1);
    const T inv_sqrt_bc2 = static_cast<T>(1 / std::sqrt(bc2));
    const T eps = static_cast<T>(cfg_.eps);
    ops::parallel_blocks(n, fork_over(n), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        p[i] *= decay;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
    });
  });
}

}  // namespace blt::train
