// Non-finite search over the parameter arenas and the loss-rise watch.
#include "train/guards.h"

#include <cmath>
#include <cstdio>

#include "ops/parallel.h"

namespace blt::train {

namespace {
// Whether every entry of t is finite (one pass, forked only when it pays: a warm step allocates nothing).
bool all_finite(const TensorView& t) {
  double bad = 0;
  dispatch(t.dtype(), [&]<class T>() {
    const T* p = t.data<T>();
    const int64_t n = t.numel();
    bad = ops::parallel_sum(n, ops::worth_forking(static_cast<double>(n), 1 << 15),
                            [&](int64_t j) { return std::isfinite(p[j]) ? 0.0 : 1.0; });
  });
  return bad == 0;
}
}  // namespace

std::optional<std::string> first_non_finite(const nn::ParamRegistry& reg, ParamArena arena) {
  const auto of = [&](nn::ParamId id) { return arena == ParamArena::Values ? reg.value(id) : reg.grad(id); };
  if (all_finite(arena == ParamArena::Values ? reg.values() : reg.grads())) return std::nullopt;
  for (size_t i = 0; i < reg.params().size(); ++i)
    if (!all_finite(of(static_cast<nn::ParamId>(i)))) return reg.params()[i].name;
  return std::nullopt;
}

std::optional<std::string> LossWatch::observe(int64_t step, double loss) {
  recent_[static_cast<size_t>(seen_ % kRecent)] = loss;
  min_ = seen_ == 0 ? loss : std::min(min_, loss);
  ++seen_;
  if (warned_ || seen_ < kRecent) return std::nullopt;
  double mean = 0;
  for (double l : recent_) mean += l / kRecent;
  if (!(mean > 2 * min_ && mean > min_ + 1)) return std::nullopt;
  warned_ = true;
  char buf[200];
  std::snprintf(
      buf, sizeof buf,
      "step %lld: the loss rose to %.4f (mean of the last %d steps) from its minimum %.4f: the run may be "
      "diverging (a lower learning rate may help)",
      static_cast<long long>(step), mean, kRecent, min_);
  return std::string(buf);
}

}  // namespace blt::train
