// PatcherArgs parsing, validation and serialization. Field names, defaults
// and mode names follow the reference PatcherArgs / PatchingModeEnum; the
// validation is stricter than pydantic's (see PatcherArgs::validate).
#include "patching/patcher_args.h"

#include <cmath>
#include <cstdio>
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
  // The patchers compare float32 entropies with float32 thresholds: a value beyond float's range (or NaN)
  // has no float32 value (the conversion would be undefined).
  auto float32 = [&](const char* field, double v) {
    if (std::isnan(v)) fail(field, "is NaN");
    if (!(std::fabs(v) <= std::numeric_limits<float>::max())) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.6g", v);
      fail(field, std::string("must be within float32's range, got ") + buf);
    }
  };
  float32("threshold", threshold);
  if (threshold < 0) fail("threshold", "must not be negative, got " + std::to_string(threshold));
  if (threshold_add) float32("threshold_add", *threshold_add);
  auto bound = [&](const char* field, int64_t v, int64_t hi) {
    if (v < 1 || v > hi) fail(field, "must be in [1, " + std::to_string(hi) + "], got " + std::to_string(v));
  };
  if (max_patch_length) bound("max_patch_length", *max_patch_length, kMaxPatchLength);
  if (!(patch_size > 0) || !(patch_size <= static_cast<double>(kMaxPatchLength)))
    fail("patch_size",
         "must be in (0, " + std::to_string(kMaxPatchLength) + "], got " + std::to_string(patch_size));
  if (patching_mode == PatchingMode::Static) {
    // The reference fills an integer tensor with patch_size (truncating 4.5 to 4) and then fails
    // its sum assertion, so a fractional static patch size never works there.
    if (patch_size != std::floor(patch_size))
      fail("patch_size", "must be a whole number of bytes in static mode, got " + std::to_string(patch_size) +
                             " (the reference truncates it and then fails its patch-length sum check)");
  }
  bound("patching_batch_size", patching_batch_size, kMaxPatchingBatch);
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
