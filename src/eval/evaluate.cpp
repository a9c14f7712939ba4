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

void EvalResult::finish() {
  if (n_positions == 0) throw Error("evaluation: no bytes to evaluate");
  bpb = nll / std::log(2.0) / static_cast<double>(n_positions);
  mean_patch_size = static_cast<double>(length_sum) / static_cast<double>(n_patches);
  flops_per_byte.clear();
  for (const auto& [name, f] : flops)
    if (f > 0) flops_per_byte[name] = f / static_cast<double>(n_positions);
}

EvalResult evaluate(const modeldir::BltModel& m, patching::RowPatcher& patcher, data::EvalWindows& windows,
                    int64_t max_targets, const std::function<void(int64_t, int64_t)>& progress,
                    Tracer* tracer, EvalShare share) {
  Graph g;
  g.set_recording(false);
  g.set_precision(m.params->precision());
  patching::PatchLayout layout;
  data::EvalWindow w;
  EvalResult r;
  const double entropy_before = patcher.entropy_flops();
  const int64_t total = max_targets > 0 ? std::min(max_targets, windows.n_targets()) : windows.n_targets();
  windows.reset();
  r.window_nll.reserve(static_cast<size_t>(windows.n_windows() / share.ranks + 1));
  int64_t done = 0;  // targets of every rank's windows so far: the budget is the whole evaluation's
  for (int64_t i = 0; done < total && windows.next(w); ++i) {
    auto x = w.x();
    auto y = w.y();
    const int64_t keep = std::min<int64_t>(static_cast<int64_t>(y.size()), total - done);
    done += keep;
    if (!share.mine(i)) continue;
    x = x.first(keep);
    y = y.first(keep);
    const int64_t N = static_cast<int64_t>(x.size());
    patcher.layout(x, 1, N, layout);
    g.reset();
    g.set_tracer(r.n_positions == 0 ? tracer : nullptr);
    const Var logits = m.model->forward(g, x, layout);
    g.trace("logits", logits.value);
    r.window_nll.push_back(ops::cross_entropy(g, logits, y, ops::Reduction::Sum).value.at(0));
    r.nll += r.window_nll.back();
    r.n_positions += N;
    for (int32_t l : layout.lengths) {
      r.length_sum += l;
      r.n_patches += l > 0;
    }
    if (progress) progress(done, total);
  }
  for (const auto& e : g.flops().entries()) r.flops[e.name] += e.forward;
  const double ent = patcher.entropy_flops() - entropy_before;
  if (ent > 0) r.flops["entropy_model"] += ent;
  if (share.ranks == 1) r.finish();
  return r;
}

EvalResult merge_shares(const std::vector<EvalResult>& shares) {
  EvalResult r;
  std::vector<std::vector<double>> nll;
  for (const EvalResult& s : shares) {
    nll.push_back(s.window_nll);
    r.n_positions += s.n_positions;
    r.n_patches += s.n_patches;
    r.length_sum += s.length_sum;
    for (const auto& [name, f] : s.flops) r.flops[name] += f;
  }
  r.window_nll = in_window_order(nll);
  r.nll = ordered_sum(r.window_nll);
  r.finish();
  return r;
}

}  // namespace blt::eval
