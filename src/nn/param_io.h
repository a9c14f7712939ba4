// Parameter (de)serialisation: a registry to and from safetensors files, or
// from an already-read state dict (.pth). Before any data is copied the full
// key set and every shape are checked; a mismatch lists every missing,
// unexpected and wrongly shaped tensor with its expected and found shape.
// map_params uses bf16 weights as stored (ParamRegistry::allocate_as_stored):
// it views them in the file's mapping and touches none of their pages.
#pragma once

#include <map>
#include <span>
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

// Parameter p's value as stored in `bytes` (of safetensors dtype `dtype`): a bf16 view of them when p is a
// matrix (rank >= 2) stored as BF16 at a 2-byte-aligned address, else undefined (p is read in instead).
TensorView stored_view(const ParamInfo& p, const std::string& dtype, std::span<const std::byte> bytes);

// Weights used as stored, for inference (non-trainable registries; ConfigError otherwise): check_params, then
// reg.allocate_as_stored with every stored_view of the file (the registry keeps the mapping alive), then every
// other parameter read in: a matrix in another dtype or misaligned converted into the registry's bf16 arena,
// a 1-D parameter into its float32 one. No page of a viewed tensor is read.
void map_params(ParamRegistry& reg, const io::SafetensorsFile& file, const std::string& prefix = "");

}  // namespace blt::nn
