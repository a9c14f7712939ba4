// `blt experiment`: the arms (arms.h) trained to the same executed training
// FLOPs on the same data in the same order, each in its own run folder under
// --out, after the entropy model (trained first unless given) and the BPE
// tokenizer (trained from the training split). Everything is checked before
// anything is written: the arms, the budget against each arm's analytic step
// cost, the corpora against one row, the vocabulary against the corpus (the
// tokenizer is trained in memory first). A rerun with the same settings
// continues: finished arms (a line in results.jsonl) are kept, an
// interrupted arm resumes from its checkpoint.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/precision.h"

namespace blt::experiment {

struct ExperimentOptions {
  std::vector<std::string> data, valid;  // corpora (files or folders)
  double budget = 0;                     // executed training FLOPs per arm, e.g. 1e13
  std::string arms = "bpe,blt-entropy,blt-entropy-8,blt-monotonic,blt-static-4,blt-static-8,blt-space,byte";
  int64_t bpe_vocab = 16384;
  std::string entropy_model;     // a trained entropy model directory; empty: train one first
  int64_t entropy_steps = 400;   // the entropy model's training steps (outside the budget)
  int64_t seq_len = 512;         // bytes per row (the BPE arm: that many bytes' worth of tokens)
  int64_t batch = 8;             // rows per step
  int64_t width = 128;           // the size family's knob (arms.h)
  int64_t evals = 8;             // validations per arm (the points of the plot)
  int64_t valid_bytes = 200000;  // the first documents of --valid up to this many bytes (0: all)
  double lr = 3e-3;
  uint64_t seed = 42;  // initialisation and data order (every arm the same)
  std::string out;
  // What every model trains in (resolved for this CPU by the caller). Not a setting a rerun must repeat:
  // each arm's metrics lines say what its steps ran at.
  Precision precision = Precision::F32;
};
// The settings a rerun must repeat (experiment.json).
nlohmann::json to_json(const ExperimentOptions& o);

// Progress over the whole experiment: the current stage, its step, and the FLOPs done and planned in all.
struct Progress {
  std::string stage;  // "entropy-model", "bpe", "blt-entropy", ...
  int64_t step = 0, steps = 0;
  double done_flops = 0, total_flops = 0;
  double eta_s = 0;  // from this run's rate over the FLOPs left
};

// Runs (or continues) the experiment; false when `stop` turned true (the running arm checkpointed).
// ConfigError naming the option for bad settings, before anything is written; `before_writing` runs once
// they are validated (the CLI's data-parallel job checks). Under mpirun every rank calls it: the arms'
// trainers split each step among the ranks (a step is ranks × --batch rows), rank 0 alone writes.
bool run_experiment(const ExperimentOptions& o, const std::atomic<bool>& stop,
                    const std::function<void(const Progress&)>& progress,
                    const std::function<void(const std::string&)>& note,
                    const std::function<void()>& before_writing = {});

}  // namespace blt::experiment
