// Bits per byte of a byte/token LM on evaluation windows.
#include "eval/lm_bpb.h"

#include <cmath>

#include "ops/cross_entropy.h"

namespace blt::eval {

double lm_bpb(const lm::LMTransformer& model, data::EvalWindows& windows, int64_t max_targets) {
  Graph g;
  g.set_recording(false);
  windows.reset();
  data::EvalWindow w;
  double nll = 0;
  int64_t n = 0;
  while ((max_targets <= 0 || n < max_targets) && windows.next(w)) {
    auto x = w.x();
    auto y = w.y();
    if (max_targets > 0 && n + static_cast<int64_t>(y.size()) > max_targets) {
      const size_t keep = static_cast<size_t>(max_targets - n);
      x = x.first(keep);
      y = y.first(keep);
    }
    g.reset();
    Var logits = model.forward(g, x, 1, static_cast<int64_t>(x.size()));
    nll += ops::cross_entropy(g, logits, y, ops::Reduction::Sum).value.at(0);
    n += static_cast<int64_t>(y.size());
  }
  return n ? nll / std::log(2.0) / static_cast<double>(n) : std::nan("");
}

}  // namespace blt::eval
