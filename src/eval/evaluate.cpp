// Windowed BPB evaluation with executed FLOP accounting.
#include "eval/evaluate.h"

#include <cmath>

#include "eval/window_pieces.h"
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

namespace {

// One piece x (N) -> y (N) with its layout: Σ NLL(y) in nats, and its targets and patches added to `r`.
double score_piece(const modeldir::BltModel& m, Graph& g, std::span<const int32_t> x,
                   std::span<const int32_t> y, const patching::PatchLayout& layout, Tracer* tracer,
                   EvalResult& r) {
  g.reset();
  g.set_tracer(r.n_positions == 0 ? tracer : nullptr);
  const Var logits = m.model->forward(g, x, layout);
  g.trace("logits", logits.value);
  const double nll = ops::cross_entropy(g, logits, y, ops::Reduction::Sum).value.at(0);
  r.n_positions += static_cast<int64_t>(x.size());
  for (int32_t l : layout.lengths) {
    r.length_sum += l;
    r.n_patches += l > 0;
  }
  return nll;
}

}  // namespace

EvalResult evaluate(const modeldir::BltModel& m, patching::RowPatcher& patcher, data::EvalWindows& windows,
                    int64_t max_targets, const std::function<void(int64_t, int64_t)>& progress,
                    Tracer* tracer, EvalShare share) {
  Graph g;
  g.set_recording(false);
  g.set_precision(m.params->precision());
  patching::PatchLayout layout;
  WindowPieces pieces(m.args.max_seqlen);
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
    double nll = 0;  // the window's pieces, added in order
    while (!x.empty()) {
      patcher.layout(x, 1, static_cast<int64_t>(x.size()), layout);
      const auto k = static_cast<size_t>(pieces.fit(patcher, x, layout));
      nll += score_piece(m, g, x.first(k), y.first(k), layout, tracer, r);
      x = x.subspan(k);
      y = y.subspan(k);
    }
    r.window_nll.push_back(nll);
    r.nll += nll;
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
