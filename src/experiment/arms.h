// The arms of `blt experiment` and the one size family they share.
// Arms: bpe (a SentencePiece BPE tokenizer + a Llama-style LM over its ids),
// blt-entropy (global threshold calibrated so the mean patch is the tokenizer's
// bytes per token on the training split), blt-entropy-8 (calibrated to 8
// bytes), blt-monotonic (H[i]-H[i-1] > threshold, calibrated like blt-entropy),
// blt-static-4/8 (MegaByte-like), blt-space (SpaceByte-like) and byte (a
// byte-level LM, patch size 1).
// The size family, from one knob, the width W (a multiple of 64):
//   token/byte LM: dim W, max(2, W/64) layers, W/32 heads (head dim 32);
//   BLT: global dim W with the LM's depth and heads; local encoder (1 layer)
//        and decoder (2 layers) of dim W/2 with W/64 heads, cross-attention
//        k = 2 in every decoder layer, hash n-grams 3..8 (4096 rows each);
//   entropy model: dim W/2, 2 layers, W/64 heads.
// Every LM attends within its document (block-causal) over the whole row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lm/lm_args.h"
#include "model/blt_args.h"
#include "patching/patcher_args.h"

namespace blt::experiment {

enum class ArmKind { Bpe, Byte, Blt };

struct Arm {
  std::string name;  // e.g. "blt-entropy"
  ArmKind kind = ArmKind::Blt;
  patching::PatcherArgs patcher;  // BLT arms: mode (threshold calibrated later for entropy modes)
  bool calibrate_to_bpe = false;  // entropy modes: target = the tokenizer's bytes per token
  double target_patch = 0;        // entropy modes without calibrate_to_bpe: e.g. 8
  bool entropy_patched() const {
    return kind == ArmKind::Blt && patcher.patching_mode == patching::PatchingMode::Entropy;
  }
};

// Every arm, in the table's order.
const std::vector<std::string>& arm_names();
// "bpe,blt-entropy,byte" -> the arms; ConfigError naming `option` for an unknown, repeated or empty name.
std::vector<Arm> parse_arms(const std::string& list, const std::string& option);

// ConfigError naming `option` unless width is a positive multiple of 64 up to 4096.
void check_width(int64_t width, const std::string& option);
// The family's token LM over `vocab` ids for rows of seq_len tokens (the BPE and byte arms).
lm::LMTransformerArgs lm_args(int64_t width, int64_t vocab, int64_t seq_len);
// The family's entropy model for rows of seq_len bytes.
lm::LMTransformerArgs entropy_args(int64_t width, int64_t seq_len);
// The family's BLT for rows of seq_len bytes, patched as `patcher` says.
model::BltArgs blt_args(int64_t width, const patching::PatcherArgs& patcher, int64_t seq_len);

}  // namespace blt::experiment
