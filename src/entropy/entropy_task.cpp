// EntropyTask: loss, validation BPB.
#include "entropy/entropy_task.h"

#include <cmath>

#include "ops/cross_entropy.h"

namespace blt::entropy {

double lm_bpb(const LMTransformer& model, data::EvalWindows& windows, int64_t max_targets) {
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

EntropyTask::EntropyTask(EntropyModel& model, const data::Corpus* valid, int64_t valid_bytes)
    : model_(model), valid_(valid), valid_bytes_(valid_bytes) {}

Var EntropyTask::loss(Graph& g, std::span<const int32_t> rows, std::span<const float>, int64_t B, int64_t L) {
  x_.resize(B * L);
  y_.resize(B * L);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      x_[b * L + t] = rows[b * (L + 1) + t];
      y_[b * L + t] = rows[b * (L + 1) + t + 1];
    }
  return ops::cross_entropy(g, model_.model->forward(g, x_, B, L), y_, ops::Reduction::Mean);
}

std::optional<double> EntropyTask::validate() {
  if (!valid_) return std::nullopt;
  data::EvalWindows windows(*valid_, model_.args.max_seqlen);
  return lm_bpb(*model_.model, windows, valid_bytes_);
}

}  // namespace blt::entropy
