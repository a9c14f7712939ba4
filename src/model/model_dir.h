// A BLT model directory in the official release layout (facebook/blt-1b):
//   config.json                 {"args": {ByteLatentTransformerArgs}}
//   model.safetensors           BLT weights under the reference names (BF16/F16/F32 accepted)
//   entropy_model/params.json   {"entropy_model": {...}, "data": {"patcher_args": {...}}}
//   entropy_model/model.safetensors or consolidated.pth (official)
//   train_args.json (optional)  {"data": {"patcher_args": {...}}}
// BltModel bundles configuration, patcher settings, weights and the entropy
// model when the patching mode needs one. Every tensor name and shape is
// checked against the configuration before any data is read.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "entropy/entropy_model.h"
#include "model/blt.h"
#include "patcher/patcher_args.h"

namespace blt::model {

struct BltModel {
  BltArgs args;
  patcher::PatcherArgs patcher;
  std::unique_ptr<nn::ParamRegistry> params;
  std::unique_ptr<ByteLatentTransformer> model;
  std::optional<entropy::EntropyModel> entropy;  // present for entropy patching

  // Declares and allocates the parameters (zeros).
  static BltModel create(const BltArgs& args, const patcher::PatcherArgs& patcher, DType dtype = DType::F32,
                         bool trainable = false);
  // Reads config.json, the patcher settings, the weights and the entropy model (if the mode needs it).
  static BltModel load(const std::string& dir, DType dtype = DType::F32, bool trainable = false);
  // Writes config.json, model.safetensors, train_args.json and entropy_model/ (if present), each atomically.
  void save(const std::string& dir) const;
};

// A BLT directory's configuration without its weights: config.json's args and the patcher settings.
struct BltConfig {
  BltArgs args;
  patcher::PatcherArgs patcher;
};
BltConfig read_blt_config(const std::string& dir);

// The patcher settings that travel with a model: entropy_model/params.json's data.patcher_args, else
// train_args.json's, else the BLT args' own patching fields.
patcher::PatcherArgs resolve_patcher_args(const std::string& dir, const BltArgs& args);
// The BLT args' patching fields as PatcherArgs.
patcher::PatcherArgs patcher_from_args(const BltArgs& args);

}  // namespace blt::model
