// LMTransformerArgs: the reference's byte-level LM configuration (the entropy
// model and the byte/token baselines), read from and written to JSON with the
// reference field names.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "nn/transformer_args.h"

namespace blt::lm {

enum class AttnBias { Causal, BlockCausal, LocalBlockCausal };

struct LMTransformerArgs : nn::TransformerArgs {
  int64_t vocab_size = 260;                   // 256 bytes + 4 special ids
  std::optional<int64_t> sliding_window;      // keys per query incl. itself, e.g. 512
  AttnBias attn_bias_type = AttnBias::LocalBlockCausal;
  int32_t eos_id = 2;                         // ends a document for the block masks
  int64_t seed = 42;                          // init seed
  bool weight_tying = false;                  // unsupported (crashes in the reference)
};

// Parses an "entropy_model"/"args" object. Without `attn_bias_type` and `sliding_window` it means what the
// official loader forces for the released entropy model: local block-causal attention, window 512.
LMTransformerArgs parse_lm_args(const nlohmann::json& obj, const std::string& where);
nlohmann::json to_json(const LMTransformerArgs& args);

}  // namespace blt::lm
