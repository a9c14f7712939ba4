// The BLT as a train::TrainTask: patches each packed row (entropy model,
// space, static or byte patching; include_next_token), mean next-byte
// cross-entropy, validation BPB with eval::evaluate, and saving the model
// directory in the official layout.
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
  int64_t bytes_ = 0, patches_ = 0, length_sum_ = 0, seq_len_ = 0;
  double entropy_flops_ = 0;  // the entropy model's executed FLOPs at the last step_stats()
  std::optional<eval::EvalResult> last_eval_;
};

}  // namespace blt::pipeline
