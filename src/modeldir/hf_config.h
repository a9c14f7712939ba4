// The Hugging Face transformers layout of a BLT (model_type "blt"): its config.json read into our
// configuration and written from it. The transformers port's config:
//   top level       vocab_size, eos_token_id, patch_in_forward, patching_mode, patch_size,
//                   patching_threshold(_add), max_patch_length, monotonicity, realtime_patching,
//                   cross_attn_k, encoder_hash_byte_group_{size,vocab,nb_functions}, tie_word_embeddings
//   encoder_config, decoder_config, global_config, patcher_config
//                   hidden_size, num_attention_heads, num_key_value_heads, num_hidden_layers,
//                   max_position_embeddings, intermediate_size, rms_norm_eps, rope_parameters
//                   (or rope_theta), hidden_act, dropout; the local ones also cross_attn_all_layers,
//                   cross_attn_k, hidden_size_global
// The port fixes what the official args choose: cross attention in both local models, initialised by
// max pooling, with the local models' head counts, on full-width heads. Configurations that choose
// otherwise cannot be written (ConfigError naming the official field). What the port ignores but our
// model needs travels as extra top-level fields under the official names (seed, multiple_of,
// ffn_dim_multiplier, init_base_std, init_std_factor, local_attention_window_len, attn_bias_type, and
// blt_args_patching: the BLT args' own patching fields), and likewise in patcher_config (attn_bias_type,
// sliding_window, eos_id, ...). Without them the port's own semantics apply: local attention over the
// whole context, a causal global model, multiple_of 256, a causal patcher. Missing fields take the
// port's documented defaults (configuration_blt.py); fields we cannot run are ConfigErrors naming them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lm/lm_args.h"
#include "model/blt_args.h"
#include "patching/patcher_args.h"

namespace blt::modeldir {

inline constexpr const char* kHfModelType = "blt";

// A parsed HF config.json.
struct HfConfig {
  model::BltArgs args;
  patching::PatcherArgs patcher;
  std::optional<lm::LMTransformerArgs> entropy;  // patcher_config when patch_in_forward is true
};

// True when `config` is a JSON object whose model_type is "blt".
bool is_hf_config(const nlohmann::json& config);

// Reads an HF config.json; `where` (the file) names fields in errors, e.g. "x/config.json: encoder_config".
HfConfig parse_hf_config(const nlohmann::json& hf, const std::string& where);

// The HF config.json for a BLT (and its entropy model as the patcher, when given). ConfigError naming
// the official field (with `where`) when the transformers port cannot express the configuration.
nlohmann::json hf_config_json(const model::BltArgs& args, const patching::PatcherArgs& patcher,
                              const lm::LMTransformerArgs* entropy, const std::string& where);

}  // namespace blt::modeldir
