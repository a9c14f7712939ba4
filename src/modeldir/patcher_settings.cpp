// Patcher-settings precedence.
#include "modeldir/patcher_settings.h"

#include <filesystem>

#include "io/json_fields.h"

namespace blt::modeldir {

namespace fs = std::filesystem;

std::optional<patching::PatcherArgs> find_patcher_args(const nlohmann::json& doc, const std::string& where) {
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_object() || !doc["data"].contains("patcher_args"))
    return std::nullopt;
  return patching::parse_patcher_args(doc["data"]["patcher_args"], where + ": data.patcher_args");
}

patching::PatcherArgs resolve_patcher_args(const std::vector<PatcherSource>& sources,
                                           const patching::PatcherArgs& fallback) {
  for (const PatcherSource& s : sources)
    if (auto p = find_patcher_args(s.doc, s.where)) return *p;
  return fallback;
}

patching::PatcherArgs resolve_patcher_args(const std::string& dir, const model::BltArgs& args) {
  std::vector<std::string> files;
  for (const fs::path& file : {fs::path(dir) / "entropy_model" / "params.json", fs::path(dir) / "train_args.json"})
    if (fs::exists(file)) files.push_back(file.string());
  std::vector<nlohmann::json> docs;  // the sources refer to these: reserved, so they never move
  docs.reserve(files.size());
  std::vector<PatcherSource> sources;
  for (const std::string& file : files) sources.push_back({docs.emplace_back(io::read_json_file(file)), file});
  return resolve_patcher_args(sources, patcher_from_args(args));
}

patching::PatcherArgs patcher_from_args(const model::BltArgs& a) {
  patching::PatcherArgs p;
  p.patching_mode = patching::parse_patching_mode(a.patching_mode);
  if (a.patching_threshold) p.threshold = *a.patching_threshold;
  p.threshold_add = a.patching_threshold_add;
  p.monotonicity = a.monotonicity;
  p.max_patch_length = a.max_patch_length;
  p.patch_size = a.patch_size;
  return p;
}

}  // namespace blt::modeldir
