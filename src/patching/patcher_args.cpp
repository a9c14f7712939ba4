// PatcherArgs parsing, validation and serialization. Field names, defaults
// and mode names follow the reference PatcherArgs / PatchingModeEnum; the
// validation is stricter than pydantic's (see PatcherArgs::validate).
#include "patching/patcher_args.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "io/json_fields.h"

namespace blt::patching {

PatchingMode parse_patching_mode(const std::string& s) {
  if (s == "entropy") return PatchingMode::Entropy;
  if (s == "bpe") return PatchingMode::Bpe;
  if (s == "space") return PatchingMode::Space;
  if (s == "static") return PatchingMode::Static;
  if (s == "byte") return PatchingMode::Byte;
  if (s == "bpe_patcher")
    throw ConfigError(
        "field 'patching_mode': 'bpe_patcher' (starts predicted by a BPE-trained model) is not supported; "
        "use entropy, bpe, space, static or byte");
  throw ConfigError("field 'patching_mode': unknown value '" + s +
                    "' (expected entropy, bpe, space, static or byte)");
}

std::string to_string(PatchingMode m) {
  switch (m) {
    case PatchingMode::Bpe:
      return "bpe";
    case PatchingMode::Space:
      return "space";
    case PatchingMode::Static:
      return "static";
    case PatchingMode::Byte:
      return "byte";
    case PatchingMode::Entropy:
      break;
  }
  return "entropy";
}

void PatcherArgs::validate(const std::string& where) const {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw ConfigError(where + ": field '" + field + "' " + why);
  };
  if (std::isnan(threshold)) fail("threshold", "is NaN");
  if (threshold < 0) fail("threshold", "must not be negative, got " + std::to_string(threshold));
  if (threshold_add && std::isnan(*threshold_add)) fail("threshold_add", "is NaN");
  if (max_patch_length && *max_patch_length < 1)
    fail("max_patch_length", "must be at least 1, got " + std::to_string(*max_patch_length));
  if (!(patch_size > 0) || !std::isfinite(patch_size))
    fail("patch_size", "must be positive and finite, got " + std::to_string(patch_size));
  if (patching_mode == PatchingMode::Static) {
    // The reference fills an integer tensor with patch_size (truncating 4.5 to 4) and then fails
    // its sum assertion, so a fractional static patch size never works there.
    if (patch_size != std::floor(patch_size) || patch_size > std::numeric_limits<int32_t>::max())
      fail("patch_size", "must be a whole number of bytes in static mode, got " + std::to_string(patch_size) +
                             " (the reference truncates it and then fails its patch-length sum check)");
  }
  if (patching_batch_size < 1)
    fail("patching_batch_size", "must be at least 1, got " + std::to_string(patching_batch_size));
}

PatcherArgs parse_patcher_args(const nlohmann::json& obj, const std::string& where) {
  io::JsonFields f(obj, where);
  PatcherArgs a;
  std::string mode = to_string(a.patching_mode);
  f.optional("patching_mode", mode);
  try {
    a.patching_mode = parse_patching_mode(mode);
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  f.optional("patching_device", a.patching_device);
  f.optional("entropy_model_checkpoint_dir", a.entropy_model_checkpoint_dir);
  f.optional("realtime_patching", a.realtime_patching);
  f.optional("threshold", a.threshold);
  f.optional("threshold_add", a.threshold_add);
  f.optional("max_patch_length", a.max_patch_length);
  f.optional("patch_size", a.patch_size);
  f.optional("patching_batch_size", a.patching_batch_size);
  f.optional("device", a.device);
  f.optional("monotonicity", a.monotonicity);
  f.optional("log_time", a.log_time);
  f.ignore({"entropy_model", "data_loader_patching"});  // fields of older reference versions
  f.finish();
  a.validate(where);
  return a;
}

nlohmann::json to_json(const PatcherArgs& a) {
  nlohmann::json j;
  j["patching_mode"] = to_string(a.patching_mode);
  j["patching_device"] = a.patching_device;
  j["entropy_model_checkpoint_dir"] =
      a.entropy_model_checkpoint_dir ? nlohmann::json(*a.entropy_model_checkpoint_dir) : nlohmann::json();
  j["realtime_patching"] = a.realtime_patching;
  j["threshold"] = a.threshold;
  j["threshold_add"] = a.threshold_add ? nlohmann::json(*a.threshold_add) : nlohmann::json();
  j["max_patch_length"] = a.max_patch_length ? nlohmann::json(*a.max_patch_length) : nlohmann::json();
  j["patch_size"] = a.patch_size;
  j["patching_batch_size"] = a.patching_batch_size;
  j["device"] = a.device;
  j["monotonicity"] = a.monotonicity;
  j["log_time"] = a.log_time;
  return j;
}

}  // namespace blt::patching
