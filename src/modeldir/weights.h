// The weight file of a model directory: model.safetensors (ours, and the
// official BLT), else consolidated.pth (the official entropy model, a
// torch.save zip with the state dict under "model", read without executing
// code). One function chooses, so loading and `blt inspect` agree. For
// inference at bf16, a safetensors file whose matrices are all BF16 is used as
// stored (nn::map_params), any other file is converted on load.
#pragma once

#include <string>

#include "core/dtype.h"
#include "io/safetensors.h"
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

// False only for a float tensor of rank >= 2 not stored as BF16 (a matrix that could not be used as stored).
bool usable_as_stored(const io::SafetensorsInfo& tensor);
// True when every tensor of `file` is usable_as_stored (headers only): its weights can be used as stored
// (nn::map_params) without a conversion.
bool matrices_bf16(const io::SafetensorsFile& file);
// The same for a directory's weight file; false for consolidated.pth (read, never mapped).
bool matrices_bf16(const WeightFile& w);

}  // namespace blt::modeldir
