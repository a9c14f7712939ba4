// Parameter (de)serialisation: a registry to and from safetensors files, or
// from an already-read state dict (.pth). Before any data is copied the full
// key set and every shape are checked; a mismatch lists every missing,
// unexpected and wrongly shaped tensor with its expected and found shape.
#pragma once

#include <map>
#include <string>

#include "io/safetensors.h"
#include "nn/params.h"

namespace blt::nn {

// Writes every parameter under its name, in its dtype, atomically.
void save_params(const ParamRegistry& reg, const std::string& path,
                 const std::map<std::string, std::string>& metadata = {});

// Checks names and shapes only (no data read): FormatError listing every mismatch.
void check_params(const ParamRegistry& reg, const io::SafetensorsFile& file, const std::string& prefix = "");

// Fills every parameter of `reg` from the file (F32/F64/BF16/F16 converted). `prefix` is prepended to
// the registry names when looking them up (e.g. "" or "model."). Throws FormatError listing mismatches.
void load_params(const ParamRegistry& reg, const io::SafetensorsFile& file, const std::string& prefix = "");
void load_params(const ParamRegistry& reg, const std::map<std::string, Tensor>& tensors, const std::string& where);

}  // namespace blt::nn
