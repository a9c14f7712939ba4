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

#include "modeldir/entropy_model.h"
#include "modeldir/patcher_settings.h"
#include "model/blt.h"
#include "patching/patcher_args.h"

namespace blt::modeldir {

struct BltModel {
  model::BltArgs args;
  patching::PatcherArgs patcher;
  std::unique_ptr<nn::ParamRegistry> params;
  std::unique_ptr<model::ByteLatentTransformer> model;
  std::optional<EntropyModel> entropy;  // present for entropy patching

  // The entropy model's network, or null without one (what patching::RowPatcher takes).
  const lm::LMTransformer* entropy_lm() const { return entropy ? entropy->model.get() : nullptr; }

  // Declares and allocates the parameters (zeros).
  static BltModel create(const model::BltArgs& args, const patching::PatcherArgs& patcher, DType dtype = DType::F32,
                         bool trainable = false);
  // Declares the parameters without allocating them: names and shapes only (blt inspect), or to map.
  static BltModel declare(const model::BltArgs& args, const patching::PatcherArgs& patcher,
                          DType dtype = DType::F32, bool trainable = false);
  // Reads config.json, the patcher settings, the weights and the entropy model (if the mode needs it), in
  // either layout.
  static BltModel load(const std::string& dir, DType dtype = DType::F32, bool trainable = false);
  // As load(), for inference at bf16 (--precision bf16): when every matrix of model.safetensors is BF16
  // (matrices_bf16) the weights are used as stored (nn::map_params, map_hf_weights: bf16 views into the
  // mapped file, hash tables included, no float32 copy; 1-D weights float32); otherwise they load as load()
  // does, in float32 (the caller adds the bf16 mirror). The entropy model is decided alike on its own
  // file (EntropyModel::load_as_stored). params->as_stored() says which.
  static BltModel load_as_stored(const std::string& dir);
  // Writes config.json, model.safetensors, train_args.json and entropy_model/ (if present), each atomically.
  void save(const std::string& dir) const;
};

// A BLT directory's configuration without its weights: config.json's args and the patcher settings.
// config.json may also be the transformers layout (model_type "blt"; modeldir/hf_config.h): then its
// patcher_config is the entropy model and model.safetensors holds both models under the HF names.
struct BltConfig {
  model::BltArgs args;
  patching::PatcherArgs patcher;
  bool hf_layout = false;
  std::optional<lm::LMTransformerArgs> hf_patcher;  // the HF config's patcher_config
};
BltConfig read_blt_config(const std::string& dir);

// config.json and train_args.json as BltModel::save writes them.
std::string blt_config_text(const model::BltArgs& args);
std::string train_args_text(const patching::PatcherArgs& patcher);

}  // namespace blt::modeldir
