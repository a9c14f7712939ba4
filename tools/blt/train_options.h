// Training options shared by `blt train-entropy` and `blt train`: the trainer
// settings as command-line flags over a config file's "train" object, the
// saved run description used by --resume, and the progress display.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/blt/precision_option.h"
#include "train/trainer.h"

namespace blt::cli {

struct TrainOptions {
  std::vector<std::string> data, valid;
  std::string config, out;
  bool resume = false;
  bool resume_fallback = false;  // --resume-fallback: an unusable newest checkpoint yields to the previous intact one
  bool force = false;            // --force: a new run replaces the earlier run's files in --out
  int64_t valid_bytes = 200000;
  std::string precision = kDefaultPrecision;       // --precision (a resume without it keeps the run's)
  CLI::Option* precision_flag = nullptr;
  train::TrainerConfig trainer;
  std::vector<CLI::Option*> trainer_flags;  // flags that override trainer fields
};

// Adds --data, --valid, --config, --out, --resume, --resume-fallback, --force, --valid-bytes, --precision
// and the trainer flags.
void add_train_options(CLI::App& cmd, TrainOptions& o);

// The trainer settings of a new run: defaults, then the config's "train" object, then explicit flags.
train::TrainerConfig resolve_trainer_config(const TrainOptions& o, const nlohmann::json* train_section,
                                            const std::string& where);

// Starts writing a new run into OUT: removes stale temporaries and, with --force, the earlier run's
// files, then writes OUT/run.json: what a resume needs besides the checkpoint (trainer settings, data
// paths, the precision it runs at). Call it once everything is validated; the model files follow.
// `save_model` writes the model files; if it or run.json fails, what the run wrote is removed again.
void save_run(const std::string& out, const train::TrainerConfig& cfg, Precision precision, const TrainOptions& o,
              const std::function<void()>& save_model);
// Loads OUT/run.json for --resume; explicit flags that contradict it are an error (only --steps may grow;
// --precision may change: the metrics lines record what each step ran at).
train::TrainerConfig load_run(const std::string& out, TrainOptions& o);

// The run's configuration: new runs read it from --config (`section` is the model's object name,
// "entropy_model" or "args"), resumed runs from --out. Everything is validated and nothing written:
// a new run refuses a non-empty --out without --force.
struct RunConfig {
  nlohmann::json config;          // the whole configuration file of a new run (empty on resume)
  train::TrainerConfig trainer;   // seq_len may still be 0 (the model's default)
  Precision precision = Precision::F32;  // --precision (or the resumed run's), resolved for this CPU
};
RunConfig prepare_run(TrainOptions& o, const char* section);

// Trains to the end (or to Ctrl-C, which checkpoints and throws Interrupted), showing progress.
// `command` names the command in the resume hint.
void run_training(train::Trainer& trainer, const TrainOptions& o, const std::string& command);

}  // namespace blt::cli
