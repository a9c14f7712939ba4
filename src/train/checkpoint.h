// Training checkpoints. OUT/checkpoints/step_<N>/ holds the weights
// (model.safetensors), the AdamW moments (optimizer.safetensors) and
// train_state.json (step, data position, RNG state, the metrics window in
// progress). A checkpoint directory is written under a temporary name
// (".tmp-step_<N>-<pid>") and renamed into place only when every file in it is
// complete and fsynced; OUT/checkpoints/latest (replaced atomically) names the
// newest one. A crash at any point leaves the previous checkpoint intact and
// never a half-written one under a real name; a write error removes the
// temporary directory, and the temporaries a killed run left are removed by
// remove_stale_temporaries() at the next start.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/packing.h"
#include "nn/params.h"
#include "train/adamw.h"

namespace blt::train {

// Loss and FLOPs summed over the steps since the last metrics line.
struct LogWindow {
  double loss = 0;    // sum of the steps' mean losses (nats per target)
  double flops = 0;   // FLOPs executed by those steps
  int64_t steps = 0;  // steps in the window
};

struct TrainState {
  int64_t step = 0;                 // optimizer steps done
  data::DataPosition data;          // where the next batch starts
  std::array<uint64_t, 4> rng{};    // the trainer's Rng
  int64_t tokens_seen = 0;          // training targets consumed
  double seconds = 0;               // wall time spent training so far
  double flops = 0;                 // FLOPs executed by the training steps so far (forward + backward)
  LogWindow window;                 // the metrics line in progress (absent in older files: empty)
  nlohmann::json task_window = nlohmann::json::object();  // the task's stats_window() (older files: {})
};

nlohmann::json to_json(const TrainState& s);
TrainState train_state_from_json(const nlohmann::json& j, const std::string& where);

// Writes checkpoint step_<state.step> under out_dir/checkpoints, updates `latest`, then (only then)
// removes checkpoints older than it beyond the newest `keep` (>= 1) in all; newer ones are never
// removed. On an error the temporary directory is removed and the error rethrown.
void save_checkpoint(const std::string& out_dir, const nn::ParamRegistry& reg, const AdamW& opt,
                     const TrainState& state, int keep);

// The checkpoint directory that out_dir/checkpoints/latest names (which may be missing); nullopt
// when there is no `latest`. FormatError unless `latest` holds a bare step_<N> name.
std::optional<std::string> latest_checkpoint(const std::string& out_dir);

// The step_<N> directories of out_dir/checkpoints, oldest first.
std::vector<std::string> list_checkpoints(const std::string& out_dir);

// N of a "step_<N>" directory name (or path); -1 for anything else.
int64_t checkpoint_step(const std::string& dir);

// Whether a directory entry's name is one of those temporaries.
bool is_temporary_name(const std::string& name);

// Removes the temporaries an interrupted run left in out_dir, out_dir/checkpoints and
// out_dir/entropy_model (".tmp-step_*" directories, AtomicFile's ".<name>.tmp-*" files); returns them.
std::vector<std::string> remove_stale_temporaries(const std::string& out_dir);

// Restores weights, AdamW moments and the train state from a checkpoint directory.
TrainState load_checkpoint(const std::string& dir, const nn::ParamRegistry& reg, AdamW& opt);

}  // namespace blt::train
