// Loading and saving BLT model directories.
#include "modeldir/blt_model.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"
#include "io/safetensors.h"
#include "modeldir/hf_config.h"
#include "modeldir/hf_convert.h"
#include "modeldir/hf_weights.h"
#include "modeldir/memory_plan.h"
#include "modeldir/weights.h"
#include "nn/param_io.h"

namespace blt::modeldir {

namespace fs = std::filesystem;

BltModel BltModel::create(const model::BltArgs& args, const patching::PatcherArgs& patcher, DType dtype, bool trainable) {
  // Before anything is allocated (the RoPE tables at construction, the parameters).
  check_memory(plan_memory(args, dtype, {.training = trainable}), "the BLT configuration");
  BltModel m = declare(args, patcher, dtype, trainable);
  m.params->allocate();
  return m;
}

BltModel BltModel::declare(const model::BltArgs& args, const patching::PatcherArgs& patcher, DType dtype,
                           bool trainable) {
  BltModel m;
  m.args = args;
  m.patcher = patcher;
  m.params = std::make_unique<nn::ParamRegistry>(dtype, trainable);
  m.model = std::make_unique<model::ByteLatentTransformer>(m.args, *m.params);
  return m;
}

BltConfig read_blt_config(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw IoError(dir + ": not a model directory");
  const fs::path config = d / "config.json";
  if (!fs::exists(config)) throw IoError(config.string() + ": not found (a BLT model directory holds config.json)");
  const nlohmann::json cfg = io::read_json_file(config.string());
  if (is_hf_config(cfg)) {
    HfConfig h = parse_hf_config(cfg, config.string());
    return {h.args, h.patcher, true, std::move(h.entropy)};
  }
  io::JsonFields f(cfg, config.string());
  const model::BltArgs args = model::parse_blt_args(f.object("args"), config.string() + ": args");
  f.finish();
  return {args, resolve_patcher_args(dir, args), false, std::nullopt};
}

namespace {

// The hash n-gram tables of weights used as stored are read a row at a time: no readahead there.
void advise_hash_tables(const nn::ParamRegistry& reg) {
  for (nn::ParamId id = 0; id < static_cast<nn::ParamId>(reg.params().size()); ++id)
    if (hash_table_index(reg.params()[id].name) >= 0) {
      const TensorView v = reg.value(id);
      io::advise_random_reads(v.raw(), v.nbytes());
    }
}

// load() and load_as_stored(): as_stored uses the weights as stored when model.safetensors's matrices are BF16.
BltModel load_dir(const std::string& dir, DType dtype, bool trainable, bool as_stored) {
  const fs::path d(dir);
  const BltConfig c = read_blt_config(dir);
  const fs::path weights = d / "model.safetensors";
  if (!fs::exists(weights)) throw IoError(weights.string() + ": not found");
  const auto file = io::SafetensorsFile::open(weights.string());
  // The transformers layout holds the patcher too: each registry is decided on its own tensors.
  const bool mapped = as_stored && (c.hf_layout ? hf_matrices_bf16(file, false) : matrices_bf16(file));
  check_memory(plan_memory(c.args, dtype, {.training = trainable, .as_stored = mapped}),
               (d / "config.json").string());
  BltModel m = mapped ? BltModel::declare(c.args, c.patcher, dtype, trainable)
                      : BltModel::create(c.args, c.patcher, dtype, trainable);
  const bool entropy = m.patcher.patching_mode == patching::PatchingMode::Entropy;
  if (c.hf_layout) {
    if (entropy) {
      if (!c.hf_patcher)
        throw ConfigError((d / "config.json").string() +
                          ": field 'patch_in_forward' must be true with entropy patching (the patcher is the "
                          "entropy model)");
      m.entropy = load_hf_patcher(file, *c.hf_patcher, m.patcher, dtype, false, as_stored);
    }
    nn::ParamRegistry* blt = m.params.get();
    if (mapped) {
      map_hf_weights(file, blt, nullptr);
      advise_hash_tables(*blt);
    } else {
      load_hf_weights(file, blt, nullptr);
    }
    return m;
  }
  if (mapped) {
    nn::map_params(*m.params, file);
    advise_hash_tables(*m.params);
  } else {
    nn::load_params(*m.params, file);
  }
  if (entropy) {
    const fs::path ent = d / "entropy_model";
    if (!fs::is_directory(ent))
      throw IoError(ent.string() + ": not found; entropy patching needs the entropy model next to the BLT");
    m.entropy = as_stored ? EntropyModel::load_as_stored(ent.string()) : EntropyModel::load(ent.string(), dtype);
  }
  return m;
}

}  // namespace

BltModel BltModel::load(const std::string& dir, DType dtype, bool trainable) {
  return load_dir(dir, dtype, trainable, false);
}

BltModel BltModel::load_as_stored(const std::string& dir) { return load_dir(dir, DType::F32, false, true); }

void BltModel::save(const std::string& dir) const {
  fs::create_directories(dir);
  io::write_file_atomic((fs::path(dir) / "config.json").string(), blt_config_text(args));
  io::write_file_atomic((fs::path(dir) / "train_args.json").string(), train_args_text(patcher));
  nn::save_params(*params, (fs::path(dir) / "model.safetensors").string());
  if (entropy) {
    // The entropy model carries the BLT's patcher settings, so both files agree.
    const fs::path ent = fs::path(dir) / "entropy_model";
    fs::create_directories(ent);
    io::write_file_atomic((ent / "params.json").string(), modeldir::entropy_config_json(entropy->args, patcher).dump(2) + "\n");
    nn::save_params(*entropy->params, (ent / "model.safetensors").string());
  }
}

std::string blt_config_text(const model::BltArgs& args) {
  return nlohmann::json{{"args", model::to_json(args)}}.dump(2) + "\n";
}

std::string train_args_text(const patching::PatcherArgs& patcher) {
  return nlohmann::json{{"data", {{"patcher_args", patching::to_json(patcher)}}}}.dump(2) + "\n";
}

}  // namespace blt::modeldir
