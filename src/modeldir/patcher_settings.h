// Which patcher settings apply to a model. Settings travel in JSON documents
// as data.patcher_args (an entropy model's params.json, a BLT's
// train_args.json, a training config); the first document in precedence
// order that holds them wins, else a fallback. Every command resolves them
// through these functions, so the precedence lives in one place.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/blt_args.h"
#include "patching/patcher_args.h"

namespace blt::modeldir {

// A parsed JSON document and where it came from (for error messages). The document is
// referred to, never copied: nlohmann's copy recurses, so copying a hostile 100k-deep value
// elsewhere in the file would overflow the stack. It must outlive the call.
struct PatcherSource {
  const nlohmann::json& doc;
  std::string where;
};

// doc's data.patcher_args, parsed; nullopt when doc has none. ConfigError naming `where` when malformed.
std::optional<patching::PatcherArgs> find_patcher_args(const nlohmann::json& doc, const std::string& where);

// The first source holding data.patcher_args, else `fallback`.
patching::PatcherArgs resolve_patcher_args(const std::vector<PatcherSource>& sources,
                                           const patching::PatcherArgs& fallback);

// A BLT directory's settings: entropy_model/params.json, then train_args.json, else the BLT args' own
// patching fields.
patching::PatcherArgs resolve_patcher_args(const std::string& dir, const model::BltArgs& args);

// The BLT args' patching fields as PatcherArgs.
patching::PatcherArgs patcher_from_args(const model::BltArgs& args);

}  // namespace blt::modeldir
