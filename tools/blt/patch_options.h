// `blt patch` settings: the patcher flags (--mode, --threshold, ...) applied
// over the model's patcher_args (params.json -> data.patcher_args, or the
// reference defaults without a model). A flag that cannot apply to the chosen
// mode is an error rather than silently ignored, and every message names the
// flag and its value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "patching/patcher_args.h"

namespace blt::cli {

struct PatchFlags {
  std::string mode;                     // "" (keep the model's), entropy, monotonic, static, space, byte, bpe
  std::optional<double> threshold;      // --threshold, e.g. 1.335 (global; relative with monotonic)
  std::optional<double> threshold_add;  // --threshold-add, e.g. 0.5 (global + monotonic)
  std::optional<int64_t> max_patch_length;  // --max-patch-length, e.g. 16; 0 turns the model's limit off
  std::optional<int64_t> patch_size;        // --patch-size, e.g. 4 (static mode)
};

// Static mode's patch size when neither the flag nor an integer patcher_args patch_size gives one.
inline constexpr int64_t kDefaultStaticPatchSize = 4;

// base (the model's patcher_args, or PatcherArgs{}) + flags -> validated settings. ConfigError naming the
// flag for a NaN or negative threshold, a flag that does not apply to the mode, or --threshold-add with
// the monotonic rule (which takes precedence in the reference).
patching::PatcherArgs resolve_patcher_args(patching::PatcherArgs base, const PatchFlags& flags);

// The mode as `--mode` spells it: "monotonic" for entropy mode with monotonicity.
std::string mode_name(const patching::PatcherArgs& args);
bool is_entropy_mode(const patching::PatcherArgs& args);

}  // namespace blt::cli
