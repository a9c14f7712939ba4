// Resolution of the `blt patch` patcher flags over a base PatcherArgs.
#include "tools/blt/patch_options.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace blt::cli {

namespace {
std::string format_number(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

bool is_entropy_mode(const patching::PatcherArgs& args) {
  return args.patching_mode == patching::PatchingMode::Entropy;
}

std::string mode_name(const patching::PatcherArgs& args) {
  if (is_entropy_mode(args) && args.monotonicity) return "monotonic";
  return patching::to_string(args.patching_mode);
}

patching::PatcherArgs resolve_patcher_args(patching::PatcherArgs a, const PatchFlags& f) {
  if (f.mode == "monotonic") {
    a.patching_mode = patching::PatchingMode::Entropy;
    a.monotonicity = true;
  } else if (!f.mode.empty()) {
    try {
      a.patching_mode = patching::parse_patching_mode(f.mode);
    } catch (const ConfigError&) {
      throw ConfigError("--mode: unknown mode '" + f.mode +
                        "' (expected entropy, monotonic, static, space, byte or bpe)");
    }
    a.monotonicity = false;
  }
  const std::string mode = mode_name(a);
  const bool entropy = is_entropy_mode(a);

  if (f.threshold) {
    const double t = *f.threshold;
    if (std::isnan(t) || t < 0)
      throw ConfigError("--threshold must be a non-negative number of nats, got " + format_number(t));
    if (!entropy)
      throw ConfigError("--threshold applies to the entropy and monotonic modes, not --mode " + mode);
    a.threshold = t;
  }
  if (f.threshold_add) {
    const double t = *f.threshold_add;
    if (std::isnan(t)) throw ConfigError("--threshold-add must be a number, got " + format_number(t));
    if (!entropy) throw ConfigError("--threshold-add applies to the entropy mode, not --mode " + mode);
    if (a.monotonicity)
      throw ConfigError(
          "--threshold-add has no effect with the monotonic rule (it takes precedence, as in the "
          "reference); pass --mode entropy to combine a global threshold with --threshold-add");
    a.threshold_add = t;
  }
  if (f.max_patch_length) {
    if (*f.max_patch_length < 0)
      throw ConfigError("--max-patch-length must be at least 1 (or 0 for no limit), got " +
                        std::to_string(*f.max_patch_length));
    a.max_patch_length = *f.max_patch_length == 0 ? std::nullopt : f.max_patch_length;
  }
  if (f.patch_size) {
    if (a.patching_mode != patching::PatchingMode::Static)
      throw ConfigError("--patch-size applies to --mode static, not --mode " + mode);
    if (*f.patch_size < 1)
      throw ConfigError("--patch-size must be at least 1, got " + std::to_string(*f.patch_size));
    a.patch_size = static_cast<double>(*f.patch_size);
  } else if (a.patching_mode == patching::PatchingMode::Static && a.patch_size != std::floor(a.patch_size)) {
    a.patch_size = static_cast<double>(kDefaultStaticPatchSize);  // the reference default 4.5 cannot work
  }
  a.validate("patcher args (model and flags)");
  return a;
}

}  // namespace blt::cli
