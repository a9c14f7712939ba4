// An entropy model directory in the official release layout:
//   params.json = {"entropy_model": {lm::LMTransformerArgs}, "data": {"patcher_args": {...}}, ...}
//   model.safetensors (ours) or consolidated.pth (the official release; state dict under "model").
// EntropyModel bundles the configuration, the patcher settings that travel
// with it, the parameters and the LMTransformer over them.
#pragma once

#include <memory>
#include <string>

#include "lm/lm_transformer.h"
#include "patching/patcher_args.h"

namespace blt::modeldir {

struct EntropyModel {
  lm::LMTransformerArgs args;
  patching::PatcherArgs patcher;
  std::unique_ptr<nn::ParamRegistry> params;
  std::unique_ptr<lm::LMTransformer> model;

  // Declares and allocates the parameters (zeros; call initialize or load weights).
  static EntropyModel create(const lm::LMTransformerArgs& args, const patching::PatcherArgs& patcher,
                             DType dtype = DType::F32, bool trainable = false);
  // Declares the parameters without allocating them: names and shapes only (blt inspect), or to map.
  static EntropyModel declare(const lm::LMTransformerArgs& args, const patching::PatcherArgs& patcher,
                              DType dtype = DType::F32, bool trainable = false);
  // Reads params.json and the weights; every tensor name and shape is checked against the configuration.
  // With consolidated.pth (the official release), attention is local block-causal with window 512 whatever
  // params.json says, as the official loader builds it (one warning when params.json disagrees).
  // A transformers-layout BLT directory (config.json, no params.json) gives its patcher.
  static EntropyModel load(const std::string& dir, DType dtype = DType::F32, bool trainable = false);
  // As load(), for inference at bf16 (--precision bf16): weights in a safetensors file whose matrices are
  // all BF16 (matrices_bf16) are used as stored (nn::map_params: bf16 views into the mapped file, no float32
  // copy; the transformers layout's patcher too); any other weights (consolidated.pth included) load as
  // load() does, in float32 (the caller adds the bf16 mirror). params->as_stored() says which.
  static EntropyModel load_as_stored(const std::string& dir);
  // Writes params.json and model.safetensors into dir (created if needed), each atomically.
  void save(const std::string& dir) const;
};

// The parsed params.json of an entropy model directory (no weights).
struct EntropyModelConfig {
  lm::LMTransformerArgs args;
  patching::PatcherArgs patcher;
};
EntropyModelConfig read_entropy_config(const std::string& params_json_path);
nlohmann::json entropy_config_json(const lm::LMTransformerArgs& args, const patching::PatcherArgs& patcher);

}  // namespace blt::modeldir
