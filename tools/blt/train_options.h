// Training options shared by `blt train-entropy` and `blt train`: the trainer
// settings as command-line flags over a config file's "train" object, the
// saved run description used by --resume, and the progress display.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/trainer.h"

namespace blt::cli {

struct TrainOptions {
  std::vector<std::string> data, valid;
  std::string config, out;
  bool resume = false;
  int64_t valid_bytes = 200000;
  train::TrainerConfig trainer;
  std::vector<CLI::Option*> trainer_flags;  // flags that override trainer fields
};

// Adds --data, --valid, --config, --out, --resume, --valid-bytes and the trainer flags.
void add_train_options(CLI::App& cmd, TrainOptions& o);

// The trainer settings of a new run: defaults, then the config's "train" object, then explicit flags.
train::TrainerConfig resolve_trainer_config(const TrainOptions& o, const nlohmann::json* train_section,
                                            const std::string& where);

// OUT/run.json: what a resume needs besides the checkpoint (trainer settings, data paths).
void save_run(const std::string& out, const train::TrainerConfig& cfg, const TrainOptions& o);
// Loads OUT/run.json for --resume; explicit flags that contradict it are an error (only --steps may grow).
train::TrainerConfig load_run(const std::string& out, TrainOptions& o);

// Renders trainer reports on the progress line (and the validation lines on their own lines).
class TrainProgress {
 public:
  void operator()(const train::StepReport& r);
  void finish();

 private:
  std::shared_ptr<class ProgressLine> line_;
};

}  // namespace blt::cli
