// The arm table and the size family (arms.h).
#include "experiment/arms.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace blt::experiment {

namespace {

Arm make_arm(const std::string& name) {
  using patching::PatchingMode;
  Arm a;
  a.name = name;
  if (name == "bpe") {
    a.kind = ArmKind::Bpe;
  } else if (name == "byte") {
    a.kind = ArmKind::Byte;
  } else if (name == "blt-entropy" || name == "blt-monotonic") {
    a.patcher.patching_mode = PatchingMode::Entropy;
    a.patcher.monotonicity = name == "blt-monotonic";
    a.calibrate_to_bpe = true;
  } else if (name == "blt-entropy-8") {
    a.patcher.patching_mode = PatchingMode::Entropy;
    a.target_patch = 8;
  } else if (name == "blt-static-4" || name == "blt-static-8") {
    a.patcher.patching_mode = PatchingMode::Static;
    a.patcher.patch_size = name == "blt-static-4" ? 4 : 8;
  } else {  // blt-space
    a.patcher.patching_mode = PatchingMode::Space;
  }
  return a;
}

int64_t lm_depth(int64_t width) {
  return std::max<int64_t>(2, width / 64);
}

}  // namespace

const std::vector<std::string>& arm_names() {
  static const std::vector<std::string> names = {"bpe",           "blt-entropy",  "blt-entropy-8",
                                                 "blt-monotonic", "blt-static-4", "blt-static-8",
                                                 "blt-space",     "byte"};
  return names;
}

std::vector<Arm> parse_arms(const std::string& list, const std::string& option) {
  std::vector<Arm> arms;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t end = std::min(list.find(',', pos), list.size());
    const std::string name = list.substr(pos, end - pos);
    pos = end + 1;
    const auto& known = arm_names();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string all;
      for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
      throw ConfigError(option + ": unknown arm '" + name + "' (known: " + all + ")");
    }
    if (std::any_of(arms.begin(), arms.end(), [&](const Arm& a) { return a.name == name; }))
      throw ConfigError(option + ": arm '" + name + "' is listed twice");
    arms.push_back(make_arm(name));
  }
  return arms;
}

void check_width(int64_t width, const std::string& option) {
  if (width < 64 || width > 4096 || width % 64 != 0)
    throw ConfigError(option + " " + std::to_string(width) +
                      ": the width must be a multiple of 64 in [64, 4096]");
}

lm::LMTransformerArgs lm_args(int64_t width, int64_t vocab, int64_t seq_len) {
  const nlohmann::json j = {{"dim", width},
                            {"n_layers", lm_depth(width)},
                            {"n_heads", width / 32},
                            {"max_seqlen", seq_len},
                            {"sliding_window", seq_len},
                            {"multiple_of", 32},
                            {"attn_bias_type", "local_block_causal"}};
  lm::LMTransformerArgs a = lm::parse_lm_args(j, "experiment: token LM");
  a.vocab_size = vocab;  // the BPE arm's vocabulary (parse_lm_args accepts only the byte vocabulary)
  return a;
}

lm::LMTransformerArgs entropy_args(int64_t width, int64_t seq_len) {
  const nlohmann::json j = {{"dim", width / 2},
                            {"n_layers", 2},
                            {"n_heads", width / 64},
                            {"max_seqlen", seq_len},
                            {"sliding_window", seq_len},
                            {"multiple_of", 32},
                            {"attn_bias_type", "local_block_causal"}};
  return lm::parse_lm_args(j, "experiment: entropy model");
}

model::BltArgs blt_args(int64_t width, const patching::PatcherArgs& patcher, int64_t seq_len) {
  const int64_t local = width / 2, local_heads = width / 64;
  const nlohmann::json j = {{"dim_global", width},
                            {"n_layers_global", lm_depth(width)},
                            {"n_heads_global", width / 32},
                            {"dim_local_encoder", local},
                            {"n_layers_local_encoder", 1},
                            {"n_heads_local_encoder", local_heads},
                            {"dim_local_decoder", local},
                            {"n_layers_local_decoder", 2},
                            {"n_heads_local_decoder", local_heads},
                            {"multiple_of", 32},
                            {"max_seqlen", seq_len + 8},
                            {"max_encoder_seq_length", seq_len},
                            {"local_attention_window_len", std::min<int64_t>(128, seq_len)},
                            {"attn_bias_type", "block_causal"},
                            {"encoder_hash_byte_group_size", {3, 4, 5, 6, 7, 8}},
                            {"encoder_hash_byte_group_vocab", 4096},
                            {"encoder_hash_byte_group_nb_functions", 1},
                            {"cross_attn_encoder", true},
                            {"cross_attn_decoder", true},
                            {"cross_attn_k", 2},
                            {"cross_attn_nheads", local_heads},
                            {"cross_attn_init_by_pooling", true},
                            {"cross_attn_all_layers_decoder", true},
                            {"downsampling_by_pooling", "max"},
                            {"patching_mode", patching::to_string(patcher.patching_mode)},
                            {"patch_size", patcher.patch_size}};
  return model::parse_blt_args(j, "experiment: BLT");
}

}  // namespace blt::experiment
