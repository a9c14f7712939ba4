// Loading and saving entropy model directories.
#include "entropy/entropy_model.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "nn/param_io.h"

namespace blt::entropy {

namespace fs = std::filesystem;

EntropyModelConfig read_entropy_config(const std::string& path) {
  const nlohmann::json j = io::read_json_file(path);
  if (!j.is_object()) throw ConfigError(path + ": expected a JSON object");
  if (!j.contains("entropy_model")) throw ConfigError(path + ": missing required field 'entropy_model'");
  EntropyModelConfig c;
  c.args = parse_lm_args(j.at("entropy_model"), path + ": entropy_model");
  // data.patcher_args is optional: without it the reference defaults apply (entropy mode, threshold 1.3354...).
  if (j.contains("data") && j.at("data").is_object() && j.at("data").contains("patcher_args"))
    c.patcher = patcher::parse_patcher_args(j.at("data").at("patcher_args"), path + ": data.patcher_args");
  return c;
}

nlohmann::json entropy_config_json(const LMTransformerArgs& args, const patcher::PatcherArgs& patcher) {
  return {{"entropy_model", to_json(args)}, {"data", {{"patcher_args", patcher::to_json(patcher)}}}};
}

EntropyModel EntropyModel::create(const LMTransformerArgs& args, const patcher::PatcherArgs& patcher, DType dtype,
                                  bool trainable) {
  EntropyModel m;
  m.args = args;
  m.patcher = patcher;
  m.params = std::make_unique<nn::ParamRegistry>(dtype, trainable);
  m.model = std::make_unique<LMTransformer>(args, *m.params);
  m.params->allocate();
  return m;
}

EntropyModel EntropyModel::load(const std::string& dir, DType dtype, bool trainable) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw IoError(dir + ": not a model directory");
  const fs::path params_json = d / "params.json";
  if (!fs::exists(params_json)) throw IoError(params_json.string() + ": not found (an entropy model directory holds params.json)");
  const EntropyModelConfig c = read_entropy_config(params_json.string());
  EntropyModel m = create(c.args, c.patcher, dtype, trainable);
  if (fs::exists(d / "model.safetensors")) {
    nn::load_params(*m.params, io::SafetensorsFile::open((d / "model.safetensors").string()));
  } else if (fs::exists(d / "consolidated.pth")) {
    const std::string pth = (d / "consolidated.pth").string();
    nn::load_params(*m.params, io::read_pth_state_dict(pth, "model", dtype), pth);
  } else {
    throw IoError(dir + ": no weights (expected model.safetensors or consolidated.pth)");
  }
  return m;
}

void EntropyModel::save(const std::string& dir) const {
  fs::create_directories(dir);
  io::write_file_atomic((fs::path(dir) / "params.json").string(), entropy_config_json(args, patcher).dump(2) + "\n");
  nn::save_params(*params, (fs::path(dir) / "model.safetensors").string());
}

}  // namespace blt::entropy
