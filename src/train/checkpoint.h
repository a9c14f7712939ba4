// Training checkpoints. OUT/checkpoints/step_<N>/ holds the weights
// (model.safetensors), the AdamW moments (optimizer.safetensors) and
// train_state.json (step, data position, RNG state). A checkpoint directory
// is written under a temporary name and renamed into place only when every
// file in it is complete and fsynced; OUT/checkpoints/latest (replaced
// atomically) names the newest one. A crash at any point leaves the previous
// checkpoint intact and never a half-written one under a real name.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "data/packing.h"
#include "nn/params.h"
#include "train/adamw.h"

namespace blt::train {

struct TrainState {
  int64_t step = 0;                 // optimizer steps done
  data::DataPosition data;          // where the next batch starts
  std::array<uint64_t, 4> rng{};    // the trainer's Rng
  int64_t tokens_seen = 0;          // training targets consumed
  double seconds = 0;               // wall time spent training so far
  double flops = 0;                 // FLOPs executed by the training steps so far (forward + backward)
};

nlohmann::json to_json(const TrainState& s);
TrainState train_state_from_json(const nlohmann::json& j, const std::string& where);

// Writes checkpoint step_<state.step> under out_dir/checkpoints, updates `latest`, and keeps the newest `keep`.
void save_checkpoint(const std::string& out_dir, const nn::ParamRegistry& reg, const AdamW& opt,
                     const TrainState& state, int keep);

// The newest complete checkpoint directory of out_dir, if any.
std::optional<std::string> latest_checkpoint(const std::string& out_dir);

// Restores weights, AdamW moments and the train state from a checkpoint directory.
TrainState load_checkpoint(const std::string& dir, const nn::ParamRegistry& reg, AdamW& opt);

}  // namespace blt::train
