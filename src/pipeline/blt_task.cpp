// BltTask: per-row patching, loss, statistics, validation.
#include "pipeline/blt_task.h"

#include "eval/flops.h"
#include "io/json_fields.h"
#include "ops/cross_entropy.h"
#include "pipeline/shared_validation.h"

namespace blt::pipeline {

BltTask::BltTask(modeldir::BltModel& model, const data::Corpus* valid, int64_t valid_bytes)
    : model_(model),
      valid_(valid),
      valid_bytes_(valid_bytes),
      patcher_(model.patcher, model.entropy_lm(), model.args.eos_id) {}

Var BltTask::loss(Graph& g, std::span<const int32_t> rows, std::span<const float> side, int64_t B,
                  int64_t L) {
  if (patcher_.args().patching_mode == patching::PatchingMode::Entropy && side.empty())
    throw ConfigError(
        "entropy-patched BLT training needs the per-document entropies attached to the stream "
        "(pipeline::training_entropies), not entropies of packed rows");
  x_.resize(B * L);
  y_.resize(B * L);
  h_.resize(side.empty() ? 0 : B * L);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      x_[b * L + t] = rows[b * (L + 1) + t];
      y_[b * L + t] = rows[b * (L + 1) + t + 1];
      if (!side.empty()) h_[b * L + t] = side[b * (L + 1) + t];  // per-document entropies
    }
  patcher_.layout(x_, B, L, layout_, h_);
  for (int32_t l : layout_.lengths) {
    length_sum_ += l;
    patches_ += l > 0;
  }
  seq_len_ = L;
  return ops::cross_entropy(g, model_.model->forward(g, x_, layout_), y_, ops::Reduction::Mean);
}

nlohmann::json BltTask::step_stats() {
  const double mean = patches_ ? static_cast<double>(length_sum_) / static_cast<double>(patches_) : 0.0;
  nlohmann::json j = {{"patches", patches_}, {"mean_patch_size", mean}};
  if (patches_) j["analytic_flops_per_byte"] = 3 * eval::blt_flops(model_.args, mean, seq_len_).total();
  patches_ = length_sum_ = 0;
  return j;
}

nlohmann::json BltTask::stats_window() const {
  return {{"patches", patches_}, {"length_sum", length_sum_}, {"seq_len", seq_len_}};
}

namespace {
// The counters of a stats window {patches, length_sum, seq_len}, checked.
struct Window {
  int64_t patches = 0, length_sum = 0, seq_len = 0;
};
Window read_window(const nlohmann::json& window, const std::string& where) {
  Window w;
  io::JsonFields f(window, where);
  f.required("patches", w.patches);
  f.required("length_sum", w.length_sum);
  f.required("seq_len", w.seq_len);
  f.finish();
  if (w.patches < 0 || w.length_sum < 0 || w.seq_len < 0) throw FormatError(where + ": negative counts");
  return w;
}
}  // namespace

void BltTask::restore_stats_window(const nlohmann::json& window, const std::string& where) {
  if (window.empty()) return;  // a checkpoint from before the window was kept
  const Window w = read_window(window, where);
  patches_ = w.patches;
  length_sum_ = w.length_sum;
  seq_len_ = w.seq_len;
}

void BltTask::merge_stats_window(const nlohmann::json& window, const std::string& where) {
  const Window w = read_window(window, where);
  patches_ += w.patches;
  length_sum_ += w.length_sum;
  seq_len_ = std::max(seq_len_, w.seq_len);
}

std::optional<double> BltTask::validate() {
  if (!valid_) return std::nullopt;
  data::EvalWindows windows(*valid_, model_.args.max_encoder_seq_length);
  dist::Communicator& comm = dist::Communicator::world();
  last_eval_ = gather_shares(
      eval::evaluate(model_, patcher_, windows, valid_bytes_, {}, nullptr, rank_share(comm)), comm);
  return last_eval_->bpb;
}

}  // namespace blt::pipeline
