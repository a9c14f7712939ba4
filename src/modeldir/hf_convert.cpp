// Layout conversion: the source directory is read into official-named raw tensors (spans of its
// mapped files) and configurations, validated in full, then written in the target layout into a
// temporary folder that is renamed to the destination.
#include "modeldir/hf_convert.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "io/pth.h"
#include "modeldir/blt_model.h"
#include "modeldir/hf_config.h"
#include "modeldir/hf_weights.h"
#include "modeldir/memory_plan.h"
#include "modeldir/weights.h"
#include "nn/param_io.h"

namespace blt::modeldir {

namespace fs = std::filesystem;

namespace {

// A model's parameters declared (names and shapes), never allocated.
struct Declared {
  std::unique_ptr<nn::ParamRegistry> reg = std::make_unique<nn::ParamRegistry>(DType::F32, false);
  std::unique_ptr<model::ByteLatentTransformer> blt;
  std::unique_ptr<lm::LMTransformer> lm;
};

// A source directory: configurations, and every tensor under its official name, as stored.
struct Source {
  model::BltArgs args;
  patching::PatcherArgs patcher;
  std::optional<lm::LMTransformerArgs> entropy;
  Declared blt_decl, lm_decl;
  std::optional<io::SafetensorsFile> blt_file, entropy_file;
  std::map<std::string, io::PthRawTensor> entropy_pth;  // an official consolidated.pth, as stored
  std::vector<io::RawTensor> blt_raw, entropy_raw;
};

std::vector<int64_t> dims(const Shape& s) {
  std::vector<int64_t> d;
  for (int i = 0; i < s.rank(); ++i) d.push_back(s[i]);
  return d;
}

// Tensor `stored` of `file` as `name`: its bytes (or `bytes`, a slice of them) and dtype, which must be a
// float.
io::RawTensor stored(const io::SafetensorsFile& file, const std::string& stored, const std::string& name,
                     std::vector<int64_t> shape, std::span<const std::byte> bytes) {
  const std::string& dtype = file.info(stored).dtype;
  if (dtype != "F32" && dtype != "F64" && dtype != "BF16" && dtype != "F16")
    throw FormatError(file.path() + ": tensor '" + stored + "': dtype " + dtype +
                      " is not a float type (F32, F64, BF16, F16)");
  return {name, dtype, std::move(shape), {bytes}};
}

void read_official(const fs::path& src, Source& s) {
  const BltConfig c = read_blt_config(src.string());
  s.args = c.args;
  s.patcher = c.patcher;
  s.blt_decl.blt = std::make_unique<model::ByteLatentTransformer>(s.args, *s.blt_decl.reg);
  const fs::path weights = src / "model.safetensors";
  if (!fs::exists(weights)) throw IoError(weights.string() + ": not found");
  const io::SafetensorsFile& f = s.blt_file.emplace(io::SafetensorsFile::open(weights.string()));
  nn::check_params(*s.blt_decl.reg, f);
  for (const nn::ParamInfo& p : s.blt_decl.reg->params())
    s.blt_raw.push_back(stored(f, p.name, p.name, f.info(p.name).shape, f.bytes(p.name)));
  const fs::path ent = src / "entropy_model";
  if (!fs::is_directory(ent)) return;
  const WeightFile w = find_weights(ent.string());
  if (w.pth) {
    // Loading checks every tensor (and gives the args as the official loader forces them); the bytes
    // are then taken as stored.
    const EntropyModel m = EntropyModel::load(ent.string(), DType::F32);
    s.entropy = m.args;
    s.entropy_pth = io::read_pth_state_dict_raw(w.path, "model");
    for (const nn::ParamInfo& p : m.params->params()) {
      const io::PthRawTensor& t = s.entropy_pth.at(p.name);
      s.entropy_raw.push_back({p.name, t.dtype, t.shape, {std::span<const std::byte>(t.bytes)}});
    }
    return;
  }
  s.entropy = read_entropy_config((ent / "params.json").string()).args;
  s.lm_decl.lm = std::make_unique<lm::LMTransformer>(*s.entropy, *s.lm_decl.reg);
  const io::SafetensorsFile& e = s.entropy_file.emplace(io::SafetensorsFile::open(w.path));
  nn::check_params(*s.lm_decl.reg, e);
  for (const nn::ParamInfo& p : s.lm_decl.reg->params())
    s.entropy_raw.push_back(stored(e, p.name, p.name, e.info(p.name).shape, e.bytes(p.name)));
}

void read_hf(const fs::path& src, Source& s) {
  const fs::path config = src / "config.json";
  const HfConfig c = parse_hf_config(io::read_json_file(config.string()), config.string());
  s.args = c.args;
  s.patcher = c.patcher;
  s.entropy = c.entropy;
  s.blt_decl.blt = std::make_unique<model::ByteLatentTransformer>(s.args, *s.blt_decl.reg);
  if (s.entropy) s.lm_decl.lm = std::make_unique<lm::LMTransformer>(*s.entropy, *s.lm_decl.reg);
  const fs::path weights = src / "model.safetensors";
  if (!fs::exists(weights)) throw IoError(weights.string() + ": not found");
  const io::SafetensorsFile& f = s.blt_file.emplace(io::SafetensorsFile::open(weights.string()));
  for (const HfBinding& b :
       bind_hf_weights(f, s.blt_decl.reg.get(), s.entropy ? s.lm_decl.reg.get() : nullptr)) {
    const nn::ParamInfo& p = b.reg->params()[b.id];
    (b.reg == s.blt_decl.reg.get() ? s.blt_raw : s.entropy_raw)
        .push_back(stored(f, b.hf_name, p.name, dims(p.shape), hf_bytes(f, b)));
  }
}

// The BLT tensors under HF names, the hash tables fused in table order, then the patcher's.
std::vector<io::RawTensor> hf_tensors(const Source& s, const std::string& where) {
  std::vector<io::RawTensor> out;
  std::optional<size_t> fused;
  for (const io::RawTensor& t : s.blt_raw) {
    if (hash_table_index(t.name) < 0) {
      out.push_back({hf_blt_name(t.name), t.dtype, t.shape, t.pieces});
    } else if (!fused) {
      fused = out.size();
      out.push_back({kHfHashName, t.dtype, t.shape, t.pieces});
    } else {
      io::RawTensor& f = out[*fused];
      if (t.dtype != f.dtype || t.shape.size() != 2 || t.shape[1] != f.shape[1])
        throw FormatError(where + ": tensor '" + t.name +
                          "' differs in dtype or width from the first hash table; " +
                          "the tables cannot be fused");
      f.shape[0] += t.shape[0];
      f.pieces.insert(f.pieces.end(), t.pieces.begin(), t.pieces.end());
    }
  }
  for (const io::RawTensor& t : s.entropy_raw)
    out.push_back({hf_patcher_name(t.name), t.dtype, t.shape, t.pieces});
  return out;
}

// dst as an absolute path without a trailing separator; refused when it is src or non-empty (unless force).
fs::path check_destination(const std::string& src, const std::string& dst, bool force) {
  fs::path out = fs::absolute(dst).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  if (!fs::is_directory(out.parent_path())) throw IoError(dst + ": its parent directory does not exist");
  if (!fs::exists(out)) return out;
  if (!fs::is_directory(out)) throw IoError(dst + ": exists and is not a directory");
  if (fs::exists(src) && fs::equivalent(src, out)) throw IoError(dst + ": is the source directory");
  if (!fs::is_empty(out) && !force) throw IoError(dst + ": not empty (use --force to replace it)");
  return out;
}

// Removes what a killed conversion to `out` left: .<name>.tmp-<pid> and .<name>.old-<pid> folders.
void remove_stale(const fs::path& out) {
  const std::string name = out.filename().string();
  for (const auto& e : fs::directory_iterator(out.parent_path())) {
    const std::string f = e.path().filename().string();
    if (f.rfind("." + name + ".tmp-", 0) == 0 || f.rfind("." + name + ".old-", 0) == 0)
      fs::remove_all(e.path());
  }
}

// Moves the completed folder tmp to out (replacing out, which check_destination allowed).
void replace_dir(const fs::path& tmp, const fs::path& out) {
  if (!fs::exists(out)) {
    fs::rename(tmp, out);
    return;
  }
  const fs::path old =
      out.parent_path() / ("." + out.filename().string() + ".old-" + std::to_string(getpid()));
  fs::rename(out, old);
  try {
    fs::rename(tmp, out);
  } catch (...) {
    fs::rename(old, out);  // the previous contents come back
    throw;
  }
  fs::remove_all(old);
}

}  // namespace

Layout detect_layout(const std::string& dir) {
  const fs::path config = fs::path(dir) / "config.json";
  if (!fs::is_directory(dir)) throw IoError(dir + ": not a model directory");
  if (!fs::exists(config))
    throw IoError(config.string() + ": not found (a BLT model directory holds config.json)");
  return is_hf_config(io::read_json_file(config.string())) ? Layout::Hf : Layout::Official;
}

void convert_model_dir(const std::string& src, const std::string& dst, Layout to, bool force) {
  const fs::path out = check_destination(src, dst, force);
  Source s;
  if (detect_layout(src) == Layout::Hf)
    read_hf(src, s);
  else
    read_official(src, s);
  const std::string where = (fs::path(src) / "config.json").string();
  // Every text is made (and the HF config's checks run) before anything is written.
  std::vector<std::pair<std::string, std::string>> texts;
  if (to == Layout::Hf) {
    texts.emplace_back(
        "config.json",
        hf_config_json(s.args, s.patcher, s.entropy ? &*s.entropy : nullptr, where).dump(2) + "\n");
  } else {
    texts.emplace_back("config.json", blt_config_text(s.args));
    texts.emplace_back("train_args.json", train_args_text(s.patcher));
    if (s.entropy)
      texts.emplace_back("entropy_model/params.json",
                         entropy_config_json(*s.entropy, s.patcher).dump(2) + "\n");
  }
  const std::vector<io::RawTensor> hf =
      to == Layout::Hf ? hf_tensors(s, where) : std::vector<io::RawTensor>{};
  const fs::path tmp =
      out.parent_path() / ("." + out.filename().string() + ".tmp-" + std::to_string(getpid()));
  remove_stale(out);
  try {
    fs::create_directories(tmp / (to == Layout::Official && s.entropy ? "entropy_model" : ""));
    for (const auto& [name, text] : texts) io::write_file_atomic((tmp / name).string(), text);
    if (to == Layout::Hf) {
      io::write_safetensors_raw((tmp / "model.safetensors").string(), hf, {{"format", "pt"}});
    } else {
      io::write_safetensors_raw((tmp / "model.safetensors").string(), s.blt_raw);
      if (s.entropy)
        io::write_safetensors_raw((tmp / "entropy_model" / "model.safetensors").string(), s.entropy_raw);
    }
    replace_dir(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

EntropyModel load_hf_patcher(const std::string& dir, DType dtype, bool trainable, bool as_stored) {
  const fs::path config = fs::path(dir) / "config.json";
  const HfConfig c = parse_hf_config(io::read_json_file(config.string()), config.string());
  if (!c.entropy)
    throw ConfigError(config.string() +
                      ": field 'patch_in_forward' is false: the directory holds no patcher");
  return load_hf_patcher(io::SafetensorsFile::open((fs::path(dir) / "model.safetensors").string()), *c.entropy,
                         c.patcher, dtype, trainable, as_stored);
}

EntropyModel load_hf_patcher(const io::SafetensorsFile& file, const lm::LMTransformerArgs& args,
                             const patching::PatcherArgs& patcher, DType dtype, bool trainable, bool as_stored) {
  if (as_stored && hf_matrices_bf16(file, true)) {
    check_memory(plan_memory(args, dtype, {.as_stored = true}), file.path());
    EntropyModel m = EntropyModel::declare(args, patcher, dtype, trainable);
    map_hf_weights(file, nullptr, m.params.get());
    return m;
  }
  EntropyModel m = EntropyModel::create(args, patcher, dtype, trainable);
  load_hf_weights(file, nullptr, m.params.get());
  return m;
}

}  // namespace blt::modeldir
