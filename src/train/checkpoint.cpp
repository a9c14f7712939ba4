// Checkpoint directories: temp dir + rename, a `latest` pointer, pruning.
#include "train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"
#include "io/safetensors.h"
#include "nn/param_io.h"

namespace blt::train {

namespace fs = std::filesystem;

namespace {
std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%08lld", static_cast<long long>(step));
  return buf;
}

void fsync_dir(const fs::path& dir) {
  std::FILE* f = std::fopen(dir.c_str(), "r");
  if (!f) return;
  ::fsync(::fileno(f));
  std::fclose(f);
}
}  // namespace

nlohmann::json to_json(const TrainState& s) {
  nlohmann::json data;
  data::to_json(data, s.data);
  return {{"format", 1},        {"step", s.step},       {"data", data}, {"rng", s.rng},
          {"tokens_seen", s.tokens_seen}, {"seconds", s.seconds}, {"flops", s.flops}};
}

TrainState train_state_from_json(const nlohmann::json& j, const std::string& where) {
  io::JsonFields f(j, where);
  TrainState s;
  int64_t format = 0;
  f.required("format", format);
  if (format != 1) throw ConfigError(where + ": unsupported train state format " + std::to_string(format));
  f.required("step", s.step);
  data::from_json(f.object("data"), s.data);
  std::vector<uint64_t> rng;
  f.required("rng", rng);
  if (rng.size() != 4) throw ConfigError(where + ": field 'rng' must hold 4 words");
  std::copy(rng.begin(), rng.end(), s.rng.begin());
  f.required("tokens_seen", s.tokens_seen);
  f.required("seconds", s.seconds);
  f.required("flops", s.flops);
  f.finish();
  return s;
}

void save_checkpoint(const std::string& out_dir, const nn::ParamRegistry& reg, const AdamW& opt,
                     const TrainState& state, int keep) {
  const fs::path root = fs::path(out_dir) / "checkpoints";
  fs::create_directories(root);
  const std::string name = step_name(state.step);
  const fs::path tmp = root / (".tmp-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  nn::save_params(reg, (tmp / "model.safetensors").string(), {{"step", std::to_string(state.step)}});
  io::write_safetensors((tmp / "optimizer.safetensors").string(), {{"adamw.m", opt.m().view()}, {"adamw.v", opt.v().view()}},
                        {{"adamw_steps", std::to_string(opt.steps())}});
  io::write_file_atomic((tmp / "train_state.json").string(), to_json(state).dump(2) + "\n");
  const fs::path final_dir = root / name;
  fs::remove_all(final_dir);  // a checkpoint of the same step from an interrupted run
  fs::rename(tmp, final_dir);
  fsync_dir(root);
  io::write_file_atomic((root / "latest").string(), name + "\n");

  // Keep the newest `keep` checkpoints.
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && e.path().filename().string().rfind("step_", 0) == 0) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (size_t i = 0; i + std::max(keep, 1) < dirs.size(); ++i) fs::remove_all(dirs[i]);
}

std::optional<std::string> latest_checkpoint(const std::string& out_dir) {
  const fs::path latest = fs::path(out_dir) / "checkpoints" / "latest";
  if (!fs::exists(latest)) return std::nullopt;
  std::string name = io::read_file(latest.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  const fs::path dir = fs::path(out_dir) / "checkpoints" / name;
  if (name.empty() || !fs::is_directory(dir))
    throw FormatError(latest.string() + ": names checkpoint '" + name + "', which does not exist");
  return dir.string();
}

TrainState load_checkpoint(const std::string& dir, const nn::ParamRegistry& reg, AdamW& opt) {
  const fs::path d(dir);
  nn::load_params(reg, io::SafetensorsFile::open((d / "model.safetensors").string()));
  const auto of = io::SafetensorsFile::open((d / "optimizer.safetensors").string());
  of.read_into("adamw.m", opt.m().view());
  of.read_into("adamw.v", opt.v().view());
  const auto st_path = (d / "train_state.json").string();
  TrainState s = train_state_from_json(io::read_json_file(st_path), st_path);
  auto it = of.metadata().find("adamw_steps");
  if (it == of.metadata().end()) throw FormatError(of.path() + ": metadata 'adamw_steps' missing");
  opt.set_steps(std::stoll(it->second));
  return s;
}

}  // namespace blt::train
