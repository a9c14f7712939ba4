// Loading and saving entropy model directories.
#include "modeldir/entropy_model.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "modeldir/hf_convert.h"
#include "modeldir/memory_plan.h"
#include "modeldir/patcher_settings.h"
#include "modeldir/weights.h"
#include "nn/param_io.h"

namespace blt::modeldir {

namespace fs = std::filesystem;

EntropyModelConfig read_entropy_config(const std::string& path) {
  const nlohmann::json j = io::read_json_file(path);
  if (!j.is_object()) throw ConfigError(path + ": expected a JSON object");
  if (!j.contains("entropy_model")) throw ConfigError(path + ": missing required field 'entropy_model'");
  EntropyModelConfig c;
  c.args = lm::parse_lm_args(j.at("entropy_model"), path + ": entropy_model");
  // data.patcher_args is optional: without it the reference defaults apply (entropy mode, threshold 1.3354...).
  c.patcher = resolve_patcher_args({{j, path}}, patching::PatcherArgs{});
  return c;
}

nlohmann::json entropy_config_json(const lm::LMTransformerArgs& args, const patching::PatcherArgs& patcher) {
  return {{"entropy_model", lm::to_json(args)}, {"data", {{"patcher_args", patching::to_json(patcher)}}}};
}

EntropyModel EntropyModel::create(const lm::LMTransformerArgs& args, const patching::PatcherArgs& patcher, DType dtype,
                                  bool trainable) {
  check_memory(plan_memory(args, dtype, {.training = trainable}), "the entropy model configuration");
  EntropyModel m = declare(args, patcher, dtype, trainable);
  m.params->allocate();
  return m;
}

EntropyModel EntropyModel::declare(const lm::LMTransformerArgs& args, const patching::PatcherArgs& patcher,
                                   DType dtype, bool trainable) {
  EntropyModel m;
  m.args = args;
  m.patcher = patcher;
  m.params = std::make_unique<nn::ParamRegistry>(dtype, trainable);
  m.model = std::make_unique<lm::LMTransformer>(args, *m.params);
  return m;
}

namespace {

// The official release's loader (bytelatent/entropy_model.py, load_entropy_model) builds the entropy model
// with local block-causal attention over a window of 512 whatever params.json says. A directory holding the
// release's consolidated.pth is read the same way, with one warning when params.json says otherwise.
void apply_official_attention(lm::LMTransformerArgs& a, const std::string& params_json) {
  constexpr int64_t kOfficialWindow = 512;
  if (a.attn_bias_type == lm::AttnBias::LocalBlockCausal && a.sliding_window == kOfficialWindow) return;
  const nlohmann::json j = lm::to_json(a);
  io::warn(params_json + ": attn_bias_type " + j.at("attn_bias_type").get<std::string>() + " and sliding_window " +
           j.at("sliding_window").dump() + " are replaced by local_block_causal and " +
           std::to_string(kOfficialWindow) +
           ", as the official loader (load_entropy_model) does for an entropy model in consolidated.pth");
  a.attn_bias_type = lm::AttnBias::LocalBlockCausal;
  a.sliding_window = kOfficialWindow;
}

// load() and load_as_stored(): as_stored uses BF16 matrices as stored.
EntropyModel load_dir(const std::string& dir, DType dtype, bool trainable, bool as_stored) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw IoError(dir + ": not a model directory");
  const fs::path params_json = d / "params.json";
  if (!fs::exists(params_json) && fs::exists(d / "config.json") && detect_layout(dir) == Layout::Hf)
    return load_hf_patcher(dir, dtype, trainable, as_stored);  // the patcher of a transformers-layout BLT
  if (!fs::exists(params_json)) throw IoError(params_json.string() + ": not found (an entropy model directory holds params.json)");
  EntropyModelConfig c = read_entropy_config(params_json.string());
  const WeightFile weights = find_weights(dir);
  if (weights.pth) apply_official_attention(c.args, params_json.string());
  const bool mapped = as_stored && matrices_bf16(weights);
  check_memory(plan_memory(c.args, dtype, {.training = trainable, .as_stored = mapped}),
               params_json.string());
  if (mapped) {
    EntropyModel m = EntropyModel::declare(c.args, c.patcher, dtype, trainable);
    nn::map_params(*m.params, io::SafetensorsFile::open(weights.path));
    return m;
  }
  EntropyModel m = EntropyModel::create(c.args, c.patcher, dtype, trainable);
  load_weights(*m.params, weights, dtype);
  return m;
}

}  // namespace

EntropyModel EntropyModel::load(const std::string& dir, DType dtype, bool trainable) {
  return load_dir(dir, dtype, trainable, false);
}

EntropyModel EntropyModel::load_as_stored(const std::string& dir) { return load_dir(dir, DType::F32, false, true); }

void EntropyModel::save(const std::string& dir) const {
  fs::create_directories(dir);
  io::write_file_atomic((fs::path(dir) / "params.json").string(), entropy_config_json(args, patcher).dump(2) + "\n");
  nn::save_params(*params, (fs::path(dir) / "model.safetensors").string());
}

}  // namespace blt::modeldir
