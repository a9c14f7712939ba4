// ByteLatentTransformerArgs: the BLT configuration with the reference's field
// names (config.json = {"args": {...}}), the sizes derived from it as the
// reference derives them (get_encoder_dim_token_emb & co.), and validation
// that rejects, naming the field, every combination this implementation
// does not support or that the reference itself cannot run. The sizes of the
// three stacks are required fields; every size is bounded (nn::TransformerArgs'
// limits, plus cross_attn_k <= 4096, hash vocab <= 2^30, <= 64 hash groups of
// n-grams up to 1024 bytes, one tensor <= 2^34 and the model <= 2^36 elements).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nn/transformer_args.h"
#include "ops/segment_pool.h"

namespace blt::model {

inline constexpr int64_t kMaxCrossAttnK = 4096;
inline constexpr int64_t kMaxHashVocab = int64_t{1} << 30;
inline constexpr int64_t kMaxHashGroups = 64;
inline constexpr int64_t kMaxHashGroupSize = 1024;

struct BltArgs {
  int64_t seed = 42;
  int64_t vocab_size = 260;                    // 256 bytes + 4 special ids
  int32_t eos_id = 2;
  // Sizes of the three transformers: dim_*, n_layers_* and n_heads_* are required in config.json.
  int64_t dim_global = 512, n_layers_global = 8, n_heads_global = 8;
  std::optional<int64_t> n_kv_heads_global;
  int64_t dim_local_encoder = 512, n_layers_local_encoder = 8, n_heads_local_encoder = 8;
  int64_t dim_local_decoder = 512, n_layers_local_decoder = 8, n_heads_local_decoder = 8;
  std::optional<int64_t> n_kv_heads;           // local models' KV heads
  std::optional<int64_t> head_dim;             // shared by all three if set; else dim / heads
  std::optional<int64_t> dim_token;            // encoder token width override (e.g. null)
  int64_t multiple_of = 256;
  double ffn_dim_multiplier = 1.0;
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  std::optional<double> init_base_std;
  nn::InitStdFactor init_std_factor = nn::InitStdFactor::Disabled;
  int64_t max_seqlen = 1024;                   // global RoPE table: patches per sequence
  int64_t max_encoder_seq_length = 4096;       // local RoPE tables: bytes per sequence
  int64_t local_attention_window_len = 512;    // local self-attention window (keys incl. the query)
  std::string attn_bias_type = "causal";       // global mask: "causal" or "block_causal"
  // Patching (kept with the model; the entropy model's patcher_args take precedence when present).
  std::string patching_mode = "entropy";
  double patch_size = 4.5;
  std::optional<double> patching_threshold;
  std::optional<double> patching_threshold_add;
  bool monotonicity = false;
  std::optional<int64_t> max_patch_length;
  // Hash n-gram embeddings.
  std::vector<int64_t> encoder_hash_byte_group_size;  // e.g. {3,4,5,6,7,8}; empty: none
  int64_t encoder_hash_byte_group_vocab = 30000;
  int64_t encoder_hash_byte_group_nb_functions = 3;
  // Cross attention.
  bool cross_attn_encoder = false, cross_attn_decoder = false;
  std::optional<int64_t> cross_attn_window_encoder, cross_attn_window_decoder;
  std::optional<int64_t> cross_attn_k;
  std::optional<int64_t> cross_attn_nheads;
  bool cross_attn_all_layers_encoder = false, cross_attn_all_layers_decoder = false;
  bool cross_attn_init_by_pooling = false;
  std::string downsampling_by_pooling;         // "max", "avg", "min" or a combination (without cross attention)
  bool share_encoder_decoder_emb = true;
  bool use_local_encoder_transformer = true;

  // Derived sizes (bytelatent/model/blt.py).
  int64_t encoder_dim_token_emb() const { return dim_token.value_or(dim_local_encoder); }
  int64_t decoder_dim_token_emb() const {
    return share_encoder_decoder_emb ? encoder_dim_token_emb() : dim_token.value_or(dim_local_decoder);
  }
  int64_t k() const { return cross_attn_k.value_or(1); }
  // The pooling modes in the reference's fixed concatenation order (avg/mean, min, max).
  std::vector<ops::PoolMode> pool_modes() const;
  // Width of one patch vector entering the global model.
  int64_t global_dim_patch_emb() const;
  int64_t n_hash_tables() const {
    return encoder_hash_byte_group_nb_functions * static_cast<int64_t>(encoder_hash_byte_group_size.size());
  }
  nn::TransformerArgs encoder_args() const;
  nn::TransformerArgs decoder_args() const;
  nn::TransformerArgs global_args() const;

  // Throws ConfigError naming the field.
  void validate(const std::string& where) const;
  // The upper bounds on sizes (part of validate()); ConfigError naming the field.
  void check_limits(const std::string& where) const;
};

// Reads the "args" object of config.json; reference fields that do not affect the computation are
// accepted silently, unknown ones warn.
BltArgs parse_blt_args(const nlohmann::json& args, const std::string& where);
nlohmann::json to_json(const BltArgs& a);

}  // namespace blt::model
