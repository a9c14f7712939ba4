// Bits per byte of a byte/token LM on evaluation windows.
#include "eval/lm_bpb.h"

#include <cmath>

#include "ops/cross_entropy.h"

namespace blt::eval {

NllSum lm_nll(const lm::LMTransformer& model, data::EvalWindows& windows, int64_t max_targets,
              EvalShare share) {
  Graph g;
  g.set_recording(false);
  g.set_precision(model.params().precision());
  windows.reset();
  data::EvalWindow w;
  NllSum s;
  int64_t done = 0;  // targets of every rank's windows so far
  for (int64_t i = 0; (max_targets <= 0 || done < max_targets) && windows.next(w); ++i) {
    auto x = w.x();
    auto y = w.y();
    if (max_targets > 0 && done + static_cast<int64_t>(y.size()) > max_targets) {
      const size_t keep = static_cast<size_t>(max_targets - done);
      x = x.first(keep);
      y = y.first(keep);
    }
    done += static_cast<int64_t>(y.size());
    if (!share.mine(i)) continue;
    g.reset();
    Var logits = model.forward(g, x, 1, static_cast<int64_t>(x.size()));
    s.window_nll.push_back(ops::cross_entropy(g, logits, y, ops::Reduction::Sum).value.at(0));
    s.nll += s.window_nll.back();
    s.targets += static_cast<int64_t>(y.size());
  }
  return s;
}

double bits_per_target(const NllSum& s) {
  return s.targets ? s.nll / std::log(2.0) / static_cast<double>(s.targets) : std::nan("");
}

double lm_bpb(const lm::LMTransformer& model, data::EvalWindows& windows, int64_t max_targets) {
  return bits_per_target(lm_nll(model, windows, max_targets));
}

double token_lm_bpb(const NllSum& windows, const data::TokenCorpus& docs) {
  const double bytes = static_cast<double>(docs.n_bytes() + static_cast<int64_t>(docs.size()));
  return bytes > 0 ? windows.nll / std::log(2.0) / bytes : std::nan("");
}

double token_lm_bpb(const lm::LMTransformer& model, const data::TokenCorpus& docs) {
  data::EvalWindows windows(docs, model.args().max_seqlen);
  return token_lm_bpb(lm_nll(model, windows, 0), docs);
}

}  // namespace blt::eval
