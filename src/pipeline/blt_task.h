// The BLT as a train::TrainTask: patches each packed row (entropy, space,
// static or byte patching; include_next_token), mean next-byte cross-entropy,
// validation BPB with eval::evaluate, and saving the model directory in the
// official layout. Entropy patching reads the stream's side values, the
// per-document entropies of pipeline::training_entropies (as the reference
// trains on precomputed entropies): it never runs the entropy model on a
// packed row, whose positions and context are not the document's.
#pragma once

#include <optional>

#include "eval/evaluate.h"
#include "train/trainer.h"

namespace blt::pipeline {

class BltTask : public train::TrainTask {
 public:
  // `valid` may be null; valid_bytes limits each validation (0: all of it).
  BltTask(modeldir::BltModel& model, const data::Corpus* valid, int64_t valid_bytes);

  const nn::ParamRegistry& params() const override { return *model_.params; }
  Var loss(Graph& g, std::span<const int32_t> rows, std::span<const float> side, int64_t B, int64_t L) override;
  nlohmann::json step_stats() override;
  nlohmann::json stats_window() const override;
  void restore_stats_window(const nlohmann::json& window, const std::string& where) override;
  void merge_stats_window(const nlohmann::json& window, const std::string& where) override;
  std::optional<double> validate() override;
  void save_model(const std::string& dir) override { model_.save(dir); }

  const std::optional<eval::EvalResult>& last_validation() const { return last_eval_; }

 private:
  modeldir::BltModel& model_;
  const data::Corpus* valid_;
  int64_t valid_bytes_;
  patching::RowPatcher patcher_;
  patching::PatchLayout layout_;
  std::vector<int32_t> x_, y_;
  std::vector<float> h_;
  int64_t patches_ = 0, length_sum_ = 0, seq_len_ = 0;
  std::optional<eval::EvalResult> last_eval_;
};

}  // namespace blt::pipeline
