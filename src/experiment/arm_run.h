// Training one arm of `blt experiment` in its own run folder: the model of the
// size family, the task (pipeline::TokenLmTask, EntropyTask or BltTask) and
// the training stream (bytes, or the BPE tokens of the same documents in the
// same order), then the steps: the first batches of the stream are run forward
// once (no update) to measure the executed FLOPs of a step (training = 3 ×
// forward; block-causal masks at document boundaries included). An LM's steps
// are round(budget / that). A BLT's patch size varies along the data, so every
// batch the run will read is patched and costed with the analytic count at its
// own patch size, scaled by executed / analytic over the measured batches, and
// the steps are where that sum reaches the budget. An interrupted arm resumes
// from its newest checkpoint; the curve is read back from its metrics.jsonl.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "core/precision.h"
#include "data/packing.h"
#include "experiment/arms.h"
#include "experiment/results.h"

namespace blt::experiment {

// An arm trains at least this many steps: rounding steps = budget / step cost then misses the budget by
// at most 2.5%.
inline constexpr int64_t kMinArmSteps = 20;

// "1.23e+12".
std::string format_flops(double flops);

// What every arm shares.
struct ArmData {
  const data::Corpus* train = nullptr;
  const data::Corpus* valid = nullptr;
  const data::TokenCorpus* train_tokens = nullptr;  // BPE arm (null without one)
  const data::TokenCorpus* valid_tokens = nullptr;
  int64_t bpe_vocab = 0;
  std::string entropy_dir;           // the entropy model (entropy-patched arms)
  std::span<const float> entropies;  // its per-document entropies of `train` (entropy-patched arms)
  double bytes_per_token = 0;        // of the tokenizer on `train`
  int64_t width = 128, seq_len = 512, batch = 8, evals = 8;
  double lr = 3e-3;
  uint64_t seed = 42;
  Precision precision = Precision::F32;  // BF16: every model trains with a bf16 weight mirror (nn/params.h)
};

// A step of training: arm, step and steps, and the executed training FLOPs so far.
using StepProgress = std::function<void(const std::string& arm, int64_t step, int64_t steps, double flops)>;

// The rows of one arm: bytes per row for byte-level arms; for the BPE arm seq_len / bytes per token
// (at least 8 tokens), so every arm sees about the same text per row.
int64_t arm_seq_len(const Arm& arm, const ArmData& d);

// Forward FLOPs per training step (the analytic count, DESIGN.md §5) with a nominal mean patch (static:
// its size; entropy: the calibration target; space: 4.5), for checking a budget before anything runs.
double nominal_step_flops(const Arm& arm, const ArmData& d);

// ConfigError naming the arm and the options when its model, gradients, AdamW moments and one batch's
// activations would not fit this machine's memory.
void check_arm_memory(const Arm& arm, const ArmData& d);

// Trains `arm` to `budget` executed training FLOPs in `dir` (resumed when it holds a checkpoint). The result,
// or nullopt when `stop` turned true (a checkpoint is saved).
std::optional<ArmResult> train_arm(const Arm& arm, const ArmData& d, double budget, const std::string& dir,
                                   const std::atomic<bool>& stop, const StepProgress& progress);

// Trains the entropy model (steps fixed, outside the budget) in `dir`, the same way.
std::optional<ArmResult> train_entropy_model(const ArmData& d, int64_t steps, const std::string& dir,
                                             const std::atomic<bool>& stop, const StepProgress& progress);

}  // namespace blt::experiment
