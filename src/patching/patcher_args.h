// PatcherArgs: the reference's patcher settings (bytelatent/data/patcher.py
// PatcherArgs), with its field names and defaults, JSON (de)serialization and
// validation. Supported modes: entropy, bpe, space, static, byte. The
// reference's `bpe_patcher` mode (patch starts predicted by a BPE-trained
// model) is not supported and is rejected when parsed; entropies for the
// entropy mode are always computed by the caller (src/entropy), so
// `realtime_patching`, devices and batch sizes are kept only to round-trip.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace blt::patching {

enum class PatchingMode {
  Entropy,  // a start where the next-byte entropy exceeds the threshold
  Bpe,      // a start after every BPE delimiter token (id 3)
  Space,    // a start after every run of non-alphanumeric bytes
  Static,   // fixed patches of patch_size
  Byte,     // every byte is a patch
};

PatchingMode parse_patching_mode(const std::string& s);  // ConfigError naming 'patching_mode'
std::string to_string(PatchingMode m);

// Upper bounds, so a hostile patcher_args cannot make a patch or a batch absurdly large: a patch is
// at most as long as the longest sequence a model takes (nn::kMaxSeqlen, 2^24), a batch at most 2^20.
inline constexpr int64_t kMaxPatchLength = int64_t{1} << 24;    // max_patch_length, patch_size
inline constexpr int64_t kMaxPatchingBatch = int64_t{1} << 20;  // patching_batch_size

struct PatcherArgs {
  PatchingMode patching_mode = PatchingMode::Entropy;       // e.g. "entropy"
  std::string patching_device = "cuda";                     // e.g. "cpu"; unused (always CPU here)
  std::optional<std::string> entropy_model_checkpoint_dir;  // e.g. "hf-weights/entropy_model"
  bool realtime_patching = false;           // e.g. true: entropies come from the entropy model
  double threshold = 1.335442066192627;     // e.g. 1.335442066192627 (nats, compared as float32)
  std::optional<double> threshold_add;      // e.g. 0.5: also require H[i]-H[i-1] > threshold_add
  std::optional<int64_t> max_patch_length;  // e.g. 16: longer patches are split
  double patch_size = 4.5;                  // e.g. 4 (static mode: must be a positive integer)
  int64_t patching_batch_size = 1;          // e.g. 1; unused
  std::string device = "cuda";              // e.g. "cpu"; unused
  bool monotonicity = false;                // e.g. true: start where H[i]-H[i-1] > threshold
  bool log_time = false;                    // e.g. false; unused

  // Throws ConfigError naming the field: threshold NaN or negative, threshold_add NaN,
  // max_patch_length outside [1, 2^24], patch_size not in (0, 2^24] (static mode: not an integer),
  // patching_batch_size outside [1, 2^20].
  void validate(const std::string& where) const;
  // patch_size as the integer static mode uses (validate() has checked it).
  int64_t static_patch_size() const { return static_cast<int64_t>(patch_size); }
};

// Reads a reference `patcher_args` object (e.g. train_args.json -> data.patcher_args) and validates it.
// `where` names the object in messages. Fields of older reference versions (entropy_model,
// data_loader_patching) are ignored; unknown fields warn.
PatcherArgs parse_patcher_args(const nlohmann::json& obj, const std::string& where);
nlohmann::json to_json(const PatcherArgs& args);

}  // namespace blt::patching
