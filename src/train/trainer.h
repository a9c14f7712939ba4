// Trainer: the training loop shared by the entropy model and the BLT.
// Per step: grad_accum micro-batches from the SequenceStream, each a mean
// cross-entropy built by the TrainTask on a fresh tape, backward, global-norm
// clipping, AdamW at the warmup+cosine rate. It logs metrics as JSON Lines,
// validates and checkpoints periodically, stops cleanly (with a checkpoint)
// when asked, and resume() continues bit-exactly from the newest checkpoint
// (or, when asked, the newest intact one). A non-finite loss, gradient norm or
// weight stops it with a DivergenceError naming the step and the tensor, before
// anything of that state is written. Under mpirun every rank runs a Trainer
// over the same stream (data_parallel.h: each takes its share of every step's
// micro-batches, the gradients are summed in a fixed order); rank 0 alone
// writes metrics, checkpoints and model files, and reports progress. A task
// whose registry has a bf16 mirror (nn/params.h) trains in mixed precision:
// its steps run on a BF16 graph and the mirror is refreshed after each AdamW
// step; metrics lines say which precision ran.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "core/rng.h"
#include "data/packing.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/guards.h"

namespace blt::train {

// What a model gives the trainer.
class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual const nn::ParamRegistry& params() const = 0;
  // rows (B, L+1): x = rows[:, :L], y = rows[:, 1:]; side (B, L+1): the stream's per-token side values
  // (e.g. cached entropies), empty when none are attached. The mean loss in nats per target, on g.
  virtual Var loss(Graph& g, std::span<const int32_t> rows, std::span<const float> side, int64_t B,
                   int64_t L) = 0;
  // Statistics of the micro-batches since the last call (e.g. patch counts), for the metrics line.
  virtual nlohmann::json step_stats() { return nlohmann::json::object(); }
  // The sums step_stats() has gathered so far, as JSON (a checkpoint carries them, so the first metrics
  // line after a resume is the uninterrupted run's), and their restoration from that JSON.
  virtual nlohmann::json stats_window() const { return nlohmann::json::object(); }
  virtual void restore_stats_window(const nlohmann::json& /*window*/, const std::string& /*where*/) {}
  // Adds another rank's stats_window() to this one's (data parallelism: rank 0 logs the job's sums).
  virtual void merge_stats_window(const nlohmann::json& /*window*/, const std::string& /*where*/) {}
  // Bits per byte on the held-out data; nullopt when there is none. Every rank of a data-parallel job calls
  // it at the same step (a task may share the windows among them: pipeline/shared_validation.h).
  virtual std::optional<double> validate() = 0;
  // Writes the model's own files (configuration and weights) into dir.
  virtual void save_model(const std::string& dir) = 0;
};

struct TrainerConfig {
  int64_t steps = 1000;    // optimizer steps
  int64_t batch = 8;       // rows per micro-batch
  int64_t seq_len = 0;     // tokens per row; 0 in a config means the model's max_seqlen
  int64_t grad_accum = 1;  // micro-batches per step and rank
  AdamWConfig adam;
  int64_t warmup = 100;       // steps of linear warmup
  double lr_min_ratio = 0.1;  // cosine floor as a fraction of lr
  double clip = 1.0;          // max global gradient norm (<= 0: none)
  int64_t log_every = 10;     // steps between metrics lines
  int64_t eval_every = 200;   // steps between validations (0: only at the end)
  int64_t save_every = 200;   // steps between checkpoints (0: only at the end)
  int keep = 2;               // checkpoints kept
  uint64_t seed = 42;         // the trainer's Rng
};
nlohmann::json to_json(const TrainerConfig& c);
// Reads and validate()s the settings.
TrainerConfig trainer_config_from_json(const nlohmann::json& j, const std::string& where);
// ConfigError naming `where` and the field for any setting out of range (batch 0, steps -5, lr nan,
// keep -1, ...); seq_len 0 passes (the model's default, resolved by the caller).
void validate(const TrainerConfig& c, const std::string& where);

struct StepReport {
  int64_t step = 0, total = 0;
  double loss = 0;  // nats per target, mean over the step
  double lr = 0, grad_norm = 0;
  double bytes_per_s = 0;           // targets per second, this run
  double elapsed = 0;               // seconds of training so far (resumes included)
  double eta = 0;                   // seconds to the last step
  double comm_share = 0;            // share of the step's time spent moving gradients between ranks
  std::optional<double> valid_bpb;  // set on validation steps
  nlohmann::json stats;             // the task's step_stats()
};

class Trainer {
 public:
  // `comm`: the ranks training together (the world: one process unless started by mpirun).
  Trainer(TrainerConfig cfg, TrainTask& task, data::SequenceStream& stream, std::string out_dir,
          dist::Communicator& comm = dist::Communicator::world());

  // Restores the checkpoint `latest` names (without `latest`, the newest step_* directory); false if
  // there is none. An unusable one (missing or truncated file, bad train_state.json, missing directory)
  // is a FormatError naming it, the reason and the newest intact earlier checkpoint; with `fallback`
  // that one is restored instead (with a warning).
  bool resume(bool fallback = false);
  // Trains to cfg.steps, or until `stop` turns true (then checkpoints). Returns the step reached.
  int64_t run(const std::atomic<bool>& stop, const std::function<void(const StepReport&)>& report);

  const TrainState& state() const { return state_; }
  const TrainerConfig& config() const { return cfg_; }

 private:
  // Checkpoints the current state and writes the model files.
  void save();
  void log(const nlohmann::json& line);
  // Loads `dir` into the model and optimizer; an empty string, or the reason it is unusable.
  std::string try_load(const std::string& dir);
  // Runs this rank's share of the step's micro-batches forward and backward, each from zeroed grads with
  // its loss scaled by 1/K, folded into the ordered sum (data_parallel.h): grads = the step's gradient.
  // Returns the step's mean loss in nats per target; DivergenceError on a non-finite micro-batch loss.
  double forward_backward();
  // The task's validation BPB (every rank validates: the tasks split the windows), rank 0's on every rank.
  std::optional<double> validation();
  // Rank 0's task statistics absorb the other ranks' (which start over): before logging or saving them.
  void gather_stats();
  // Clips the gradients; DivergenceError naming the first non-finite gradient when the norm is not finite.
  double clip_checked();

  TrainerConfig cfg_;
  TrainTask& task_;
  data::SequenceStream& stream_;
  std::string out_dir_;
  dist::Communicator& comm_;
  bool writer_;  // rank 0: writes metrics, checkpoints and model files
  OrderedGradSum grad_sum_;
  AdamW opt_;
  TrainState state_;
  Rng rng_;
  LossWatch loss_watch_;
  Graph graph_;
  std::vector<int32_t> rows_;
  std::vector<float> side_;
  std::vector<double> losses_;      // this rank's micro-batch losses of the step
  std::vector<double> all_losses_;  // ... every rank's, by rank
  std::vector<double> per_rank_;    // one figure per rank (FLOPs, a validation result)
};

}  // namespace blt::train
