// Checkpoint directories: temp dir + rename, a `latest` pointer, pruning, and
// the clean-up of temporaries that a killed run left behind.
#include "train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
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

// The digits of s as an int64 (no sign, no spaces); -1 when s is anything else.
int64_t parse_count(std::string_view s) {
  int64_t v = -1;
  if (s.empty() || s.size() > 18) return -1;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && v >= 0 ? v : -1;
}

// Writes the three files of a checkpoint into the (new, empty) directory tmp.
void write_checkpoint_files(const fs::path& tmp, const nn::ParamRegistry& reg, const AdamW& opt,
                            const TrainState& state) {
  nn::save_params(reg, (tmp / "model.safetensors").string(), {{"step", std::to_string(state.step)}});
  io::write_safetensors((tmp / "optimizer.safetensors").string(), {{"adamw.m", opt.m().view()}, {"adamw.v", opt.v().view()}},
                        {{"adamw_steps", std::to_string(opt.steps())}});
  io::write_file_atomic((tmp / "train_state.json").string(), to_json(state).dump(2) + "\n");
}

// Keeps the newest `keep` checkpoints counting `step` itself: removes only older ones.
void prune_older(const std::string& out_dir, int64_t step, int keep) {
  std::vector<std::string> older;
  for (const std::string& d : list_checkpoints(out_dir))
    if (checkpoint_step(d) < step) older.push_back(d);
  const size_t kept = static_cast<size_t>(std::max(keep, 1) - 1);
  for (size_t i = 0; i + kept < older.size(); ++i) fs::remove_all(older[i]);
}
}  // namespace

nlohmann::json to_json(const TrainState& s) {
  nlohmann::json data;
  data::to_json(data, s.data);
  const nlohmann::json window = {{"loss", s.window.loss}, {"flops", s.window.flops}, {"steps", s.window.steps}};
  return {{"format", 1},        {"step", s.step},       {"data", data}, {"rng", s.rng},
          {"tokens_seen", s.tokens_seen}, {"seconds", s.seconds}, {"flops", s.flops}, {"log_window", window},
          {"task_window", s.task_window}};
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
  if (f.has("log_window")) {  // written since the window survives a resume; older files: an empty window
    io::JsonFields w(f.object("log_window"), where + ": log_window");
    w.required("loss", s.window.loss);
    w.required("flops", s.window.flops);
    w.required("steps", s.window.steps);
    w.finish();
    if (s.window.steps < 0) throw ConfigError(where + ": log_window: field 'steps' must not be negative");
  }
  if (f.has("task_window")) s.task_window = f.object("task_window");
  f.finish();
  return s;
}

void save_checkpoint(const std::string& out_dir, const nn::ParamRegistry& reg, const AdamW& opt,
                     const TrainState& state, int keep) {
  const fs::path root = fs::path(out_dir) / "checkpoints";
  fs::create_directories(root);
  const std::string name = step_name(state.step);
  const fs::path tmp = root / (".tmp-" + name + "-" + std::to_string(::getpid()));
  try {
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    write_checkpoint_files(tmp, reg, opt, state);
    const fs::path final_dir = root / name;
    fs::remove_all(final_dir);  // a checkpoint of the same step from an interrupted run
    fs::rename(tmp, final_dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);  // a full disk must not leave a half-written checkpoint behind
    throw;
  }
  fsync_dir(root);
  io::write_file_atomic((root / "latest").string(), name + "\n");
  prune_older(out_dir, state.step, keep);
}

int64_t checkpoint_step(const std::string& dir) {
  const std::string name = fs::path(dir).filename().string();
  return name.rfind("step_", 0) == 0 ? parse_count(std::string_view(name).substr(5)) : -1;
}

std::vector<std::string> list_checkpoints(const std::string& out_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  const fs::path root = fs::path(out_dir) / "checkpoints";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && checkpoint_step(e.path().string()) >= 0)
      found.emplace_back(checkpoint_step(e.path().string()), e.path().string());
  std::sort(found.begin(), found.end());
  std::vector<std::string> dirs;
  for (auto& [step, dir] : found) dirs.push_back(std::move(dir));
  return dirs;
}

std::optional<std::string> latest_checkpoint(const std::string& out_dir) {
  const fs::path latest = fs::path(out_dir) / "checkpoints" / "latest";
  if (!fs::exists(latest)) return std::nullopt;
  // A bare step_<N> name and a newline: never a path out of checkpoints/ ("../x", "/abs"), never huge.
  std::error_code ec;
  const auto size = fs::file_size(latest, ec);
  if (ec || size > 64)
    throw FormatError(latest.string() + ": not a checkpoint name (" + std::to_string(size) + " bytes)");
  std::string name = io::read_file(latest.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (checkpoint_step(name) < 0 || name.find('/') != std::string::npos)
    throw FormatError(latest.string() + ": '" + name + "' is not a checkpoint name (step_<N>)");
  return (fs::path(out_dir) / "checkpoints" / name).string();
}

bool is_temporary_name(const std::string& name) {
  return name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos;
}

std::vector<std::string> remove_stale_temporaries(const std::string& out_dir) {
  std::vector<std::string> stale;
  const fs::path out(out_dir);
  for (const fs::path& dir : {out, out / "checkpoints", out / "entropy_model"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (is_temporary_name(e.path().filename().string())) stale.push_back(e.path().string());
    }
  }
  for (const std::string& p : stale) fs::remove_all(p);
  return stale;
}

TrainState load_checkpoint(const std::string& dir, const nn::ParamRegistry& reg, AdamW& opt) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw IoError(dir + ": the checkpoint directory does not exist");
  nn::load_params(reg, io::SafetensorsFile::open((d / "model.safetensors").string()));
  const auto of = io::SafetensorsFile::open((d / "optimizer.safetensors").string());
  of.read_into("adamw.m", opt.m().view());
  of.read_into("adamw.v", opt.v().view());
  const auto st_path = (d / "train_state.json").string();
  TrainState s = train_state_from_json(io::read_json_file(st_path), st_path);
  auto it = of.metadata().find("adamw_steps");
  if (it == of.metadata().end()) throw FormatError(of.path() + ": metadata 'adamw_steps' missing");
  const int64_t steps = parse_count(it->second);
  if (steps < 0)
    throw FormatError(of.path() + ": metadata 'adamw_steps' is not a step count: '" + it->second.substr(0, 32) + "'");
  opt.set_steps(steps);
  return s;
}

}  // namespace blt::train
