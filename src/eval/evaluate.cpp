// Windowed BPB evaluation with executed FLOP accounting.
#include "eval/evaluate.h"

#include <cmath>

#include "ops/cross_entropy.h"

namespace blt::eval {

double EvalResult::flops_total_per_byte() const {
  double s = 0;
  for (const auto& [k, v] : flops_per_byte) s += v;
  return s;
}

EvalResult evaluate(const modeldir::BltModel& m, patching::RowPatcher& patcher, data::EvalWindows& windows, int64_t max_targets,
                    const std::function<void(int64_t, int64_t)>& progress, Tracer* tracer) {
  Graph g;
  g.set_recording(false);
  patching::PatchLayout layout;
  data::EvalWindow w;
  EvalResult r;
  double nll = 0;
  int64_t length_sum = 0;
  const double entropy_before = patcher.entropy_flops();
  const int64_t total = max_targets > 0 ? std::min(max_targets, windows.n_targets()) : windows.n_targets();
  windows.reset();
  while (r.n_positions < total && windows.next(w)) {
    auto x = w.x();
    auto y = w.y();
    const int64_t keep = std::min<int64_t>(static_cast<int64_t>(y.size()), total - r.n_positions);
    x = x.first(keep);
    y = y.first(keep);
    const int64_t N = static_cast<int64_t>(x.size());
    patcher.layout(x, 1, N, layout);
    g.reset();
    g.set_tracer(r.n_positions == 0 ? tracer : nullptr);
    const Var logits = m.model->forward(g, x, layout);
    g.trace("logits", logits.value);
    nll += ops::cross_entropy(g, logits, y, ops::Reduction::Sum).value.at(0);
    r.n_positions += N;
    for (int32_t l : layout.lengths) {
      length_sum += l;
      r.n_patches += l > 0;
    }
    if (progress) progress(r.n_positions, total);
  }
  if (r.n_positions == 0) throw Error("evaluation: no bytes to evaluate");
  r.bpb = nll / std::log(2.0) / static_cast<double>(r.n_positions);
  r.mean_patch_size = static_cast<double>(length_sum) / static_cast<double>(r.n_patches);
  for (const auto& e : g.flops().entries())
    if (e.forward > 0) r.flops_per_byte[e.name] = e.forward / static_cast<double>(r.n_positions);
  const double ent = patcher.entropy_flops() - entropy_before;
  if (ent > 0) r.flops_per_byte["entropy_model"] = ent / static_cast<double>(r.n_positions);
  return r;
}

}  // namespace blt::eval
