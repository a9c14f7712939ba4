// The weight file of a model directory: model.safetensors (ours, and the
// official BLT), else consolidated.pth (the official entropy model, a
// torch.save zip with the state dict under "model", read without executing
// code). One function chooses, so loading and `blt inspect` agree.
#pragma once

#include <string>

#include "core/dtype.h"
#include "nn/params.h"

namespace blt::modeldir {

struct WeightFile {
  std::string path;  // e.g. "models/entropy-kjv/model.safetensors"
  bool pth = false;  // a torch.save checkpoint rather than safetensors
};

// dir/model.safetensors, else dir/consolidated.pth; IoError naming dir when neither exists.
WeightFile find_weights(const std::string& dir);

// Fills every parameter of `reg` from `w` (converted to `dtype`); FormatError listing mismatches.
void load_weights(const nn::ParamRegistry& reg, const WeightFile& w, DType dtype);

// Checks every tensor name and shape of `w` against `reg` (safetensors: headers only).
void check_weights(const nn::ParamRegistry& reg, const WeightFile& w);

}  // namespace blt::modeldir
