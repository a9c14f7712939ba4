// Loading and saving BLT model directories.
#include "model/model_dir.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "io/safetensors.h"
#include "nn/param_io.h"

namespace blt::model {

namespace fs = std::filesystem;

patcher::PatcherArgs patcher_from_args(const BltArgs& a) {
  patcher::PatcherArgs p;
  p.patching_mode = patcher::parse_patching_mode(a.patching_mode);
  if (a.patching_threshold) p.threshold = *a.patching_threshold;
  p.threshold_add = a.patching_threshold_add;
  p.monotonicity = a.monotonicity;
  p.max_patch_length = a.max_patch_length;
  p.patch_size = a.patch_size;
  return p;
}

patcher::PatcherArgs resolve_patcher_args(const std::string& dir, const BltArgs& args) {
  for (const fs::path& file : {fs::path(dir) / "entropy_model" / "params.json", fs::path(dir) / "train_args.json"}) {
    if (!fs::exists(file)) continue;
    const nlohmann::json j = io::read_json_file(file.string());
    if (j.is_object() && j.contains("data") && j["data"].is_object() && j["data"].contains("patcher_args"))
      return patcher::parse_patcher_args(j["data"]["patcher_args"], file.string() + ": data.patcher_args");
  }
  return patcher_from_args(args);
}

BltModel BltModel::create(const BltArgs& args, const patcher::PatcherArgs& patcher, DType dtype, bool trainable) {
  BltModel m;
  m.args = args;
  m.patcher = patcher;
  m.params = std::make_unique<nn::ParamRegistry>(dtype, trainable);
  m.model = std::make_unique<ByteLatentTransformer>(m.args, *m.params);
  m.params->allocate();
  return m;
}

BltConfig read_blt_config(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw IoError(dir + ": not a model directory");
  const fs::path config = d / "config.json";
  if (!fs::exists(config)) throw IoError(config.string() + ": not found (a BLT model directory holds config.json)");
  const nlohmann::json cfg = io::read_json_file(config.string());
  io::JsonFields f(cfg, config.string());
  const BltArgs args = parse_blt_args(f.object("args"), config.string() + ": args");
  f.finish();
  return {args, resolve_patcher_args(dir, args)};
}

BltModel BltModel::load(const std::string& dir, DType dtype, bool trainable) {
  const fs::path d(dir);
  const BltConfig c = read_blt_config(dir);
  BltModel m = create(c.args, c.patcher, dtype, trainable);
  const fs::path weights = d / "model.safetensors";
  if (!fs::exists(weights)) throw IoError(weights.string() + ": not found");
  nn::load_params(*m.params, io::SafetensorsFile::open(weights.string()));
  if (m.patcher.patching_mode == patcher::PatchingMode::Entropy) {
    const fs::path ent = d / "entropy_model";
    if (!fs::is_directory(ent))
      throw IoError(ent.string() + ": not found; entropy patching needs the entropy model next to the BLT");
    m.entropy = entropy::EntropyModel::load(ent.string(), dtype);
  }
  return m;
}

void BltModel::save(const std::string& dir) const {
  fs::create_directories(dir);
  io::write_file_atomic((fs::path(dir) / "config.json").string(), nlohmann::json{{"args", to_json(args)}}.dump(2) + "\n");
  io::write_file_atomic((fs::path(dir) / "train_args.json").string(),
                        nlohmann::json{{"data", {{"patcher_args", patcher::to_json(patcher)}}}}.dump(2) + "\n");
  nn::save_params(*params, (fs::path(dir) / "model.safetensors").string());
  if (entropy) {
    // The entropy model carries the BLT's patcher settings, so both files agree.
    const fs::path ent = fs::path(dir) / "entropy_model";
    fs::create_directories(ent);
    io::write_file_atomic((ent / "params.json").string(), entropy::entropy_config_json(entropy->args, patcher).dump(2) + "\n");
    nn::save_params(*entropy->params, (ent / "model.safetensors").string());
  }
}

}  // namespace blt::model
