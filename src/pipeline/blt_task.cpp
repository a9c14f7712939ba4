// BltTask: per-row patching, loss, statistics, validation.
#include "pipeline/blt_task.h"

#include "eval/flops.h"
#include "ops/cross_entropy.h"

namespace blt::pipeline {

BltTask::BltTask(modeldir::BltModel& model, const data::Corpus* valid, int64_t valid_bytes)
    : model_(model),
      valid_(valid),
      valid_bytes_(valid_bytes),
      patcher_(model.patcher, model.entropy_lm(), model.args.eos_id) {}

Var BltTask::loss(Graph& g, std::span<const int32_t> rows, std::span<const float> side, int64_t B, int64_t L) {
  x_.resize(B * L);
  y_.resize(B * L);
  h_.resize(side.empty() ? 0 : B * L);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      x_[b * L + t] = rows[b * (L + 1) + t];
      y_[b * L + t] = rows[b * (L + 1) + t + 1];
      if (!side.empty()) h_[b * L + t] = side[b * (L + 1) + t];  // cached entropies (blt preprocess)
    }
  patcher_.layout(x_, B, L, layout_, h_);
  for (int32_t l : layout_.lengths) {
    length_sum_ += l;
    patches_ += l > 0;
  }
  bytes_ += B * L;
  seq_len_ = L;
  return ops::cross_entropy(g, model_.model->forward(g, x_, layout_), y_, ops::Reduction::Mean);
}

nlohmann::json BltTask::step_stats() {
  const double mean = patches_ ? static_cast<double>(length_sum_) / static_cast<double>(patches_) : 0.0;
  nlohmann::json j = {{"patches", patches_}, {"mean_patch_size", mean}};
  if (patches_) j["analytic_flops_per_byte"] = 3 * eval::blt_flops(model_.args, mean, seq_len_).total();
  const double ent = patcher_.entropy_flops();
  if (bytes_ && ent > entropy_flops_) j["entropy_flops_per_byte"] = (ent - entropy_flops_) / static_cast<double>(bytes_);
  entropy_flops_ = ent;
  bytes_ = patches_ = length_sum_ = 0;
  return j;
}

std::optional<double> BltTask::validate() {
  if (!valid_) return std::nullopt;
  data::EvalWindows windows(*valid_, model_.args.max_encoder_seq_length);
  const double before = patcher_.entropy_flops();
  last_eval_ = eval::evaluate(model_, patcher_, windows, valid_bytes_);
  entropy_flops_ += patcher_.entropy_flops() - before;  // validation is not training work
  return last_eval_->bpb;
}

}  // namespace blt::pipeline
