// Parsing, derived sizes and validation of ByteLatentTransformerArgs.
#include "model/blt_args.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "io/json_fields.h"

namespace blt::model {

std::vector<ops::PoolMode> BltArgs::pool_modes() const {
  std::vector<ops::PoolMode> m;
  const std::string& s = downsampling_by_pooling;
  if (s.find("avg") != std::string::npos || s.find("mean") != std::string::npos) m.push_back(ops::PoolMode::Mean);
  if (s.find("min") != std::string::npos) m.push_back(ops::PoolMode::Min);
  if (s.find("max") != std::string::npos) m.push_back(ops::PoolMode::Max);
  return m;
}

int64_t BltArgs::global_dim_patch_emb() const {
  if (cross_attn_encoder) return encoder_dim_token_emb() * k();
  return encoder_dim_token_emb() * static_cast<int64_t>(pool_modes().size());
}

namespace {
nn::TransformerArgs stack_args(const BltArgs& a, int64_t dim, int64_t layers, int64_t heads,
                               std::optional<int64_t> kv_heads, int64_t max_seqlen, std::optional<double> base_std) {
  nn::TransformerArgs t;
  t.dim = dim;
  t.n_layers = layers;
  t.head_dim = a.head_dim;
  t.n_heads = heads;
  t.n_kv_heads = kv_heads;
  t.ffn_dim_multiplier = a.ffn_dim_multiplier;
  t.multiple_of = a.multiple_of;
  t.norm_eps = a.norm_eps;
  t.rope_theta = a.rope_theta;
  t.init_base_std = base_std;
  t.init_std_factor = a.init_std_factor;
  t.max_seqlen = max_seqlen;
  return t;
}
}  // namespace

nn::TransformerArgs BltArgs::encoder_args() const {
  // The reference initialises the local models' layers with init_std None, whatever init_base_std says.
  return stack_args(*this, dim_local_encoder, n_layers_local_encoder, n_heads_local_encoder, n_kv_heads,
                    max_encoder_seq_length, std::nullopt);
}
nn::TransformerArgs BltArgs::decoder_args() const {
  return stack_args(*this, dim_local_decoder, n_layers_local_decoder, n_heads_local_decoder, n_kv_heads,
                    max_encoder_seq_length, std::nullopt);
}
nn::TransformerArgs BltArgs::global_args() const {
  return stack_args(*this, dim_global, n_layers_global, n_heads_global, n_kv_heads_global, max_seqlen, init_base_std);
}

void BltArgs::validate(const std::string& where) const {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw ConfigError(where + ": field '" + field + "' " + why);
  };
  if (vocab_size != 260) fail("vocab_size", "must be 260 (256 bytes + 4 special ids)");
  check_limits(where);  // also validates the three stacks
  if (!use_local_encoder_transformer) fail("use_local_encoder_transformer", "must be true (the local encoder is a transformer)");
  if (dim_local_decoder != dim_local_encoder)
    fail("dim_local_decoder", "must equal dim_local_encoder: the decoder starts from the encoder's byte states");
  if (patching_mode.empty())
    fail("patching_mode", "\"\" (static patches behind BOE padding) is not supported; use static, entropy, space, bpe or byte");
  if (patching_mode != "entropy" && patching_mode != "bpe" && patching_mode != "space" && patching_mode != "static" &&
      patching_mode != "byte")
    fail("patching_mode", "unknown value '" + patching_mode + "' (expected entropy, bpe, space, static or byte)");
  if (!(patch_size > 0) || !std::isfinite(patch_size)) fail("patch_size", "must be positive and finite");
  if (local_attention_window_len < 1) fail("local_attention_window_len", "must be positive");
  if (max_encoder_seq_length < 1) fail("max_encoder_seq_length", "must be positive");
  if (attn_bias_type != "causal" && attn_bias_type != "block_causal")
    fail("attn_bias_type", "must be \"causal\" or \"block_causal\" for the global transformer");
  if (encoder_hash_byte_group_vocab < 1) fail("encoder_hash_byte_group_vocab", "must be positive");
  if (encoder_hash_byte_group_nb_functions < 0 || encoder_hash_byte_group_nb_functions > 11)
    fail("encoder_hash_byte_group_nb_functions", "must be in [0, 11] (one prime per function)");
  for (int64_t g : encoder_hash_byte_group_size)
    if (g < 1) fail("encoder_hash_byte_group_size", "entries must be positive");
  const auto modes = pool_modes();
  if (cross_attn_encoder || cross_attn_decoder) {
    if (!cross_attn_k || *cross_attn_k < 1) fail("cross_attn_k", "must be a positive integer with cross attention");
    if (!cross_attn_nheads || *cross_attn_nheads < 1) fail("cross_attn_nheads", "must be set with cross attention");
    if (dim_local_encoder % *cross_attn_nheads != 0) fail("cross_attn_nheads", "must divide dim_local_encoder");
  }
  if (cross_attn_encoder) {
    if (!cross_attn_init_by_pooling)
      fail("cross_attn_init_by_pooling", "must be true with cross_attn_encoder (the patch queries start from pooling)");
    if (modes.size() != 1)
      fail("downsampling_by_pooling", "must name exactly one of avg, min, max with cross_attn_encoder");
  } else if (modes.empty()) {
    fail("downsampling_by_pooling", "must name avg, min and/or max without cross_attn_encoder");
  }
  if (decoder_dim_token_emb() != dim_local_decoder)
    fail("dim_token", "the decoder's token width must equal dim_local_decoder");
  if (cross_attn_decoder && dim_global == dim_local_decoder && k() != 1)
    fail("cross_attn_k", "must be 1 when dim_global equals dim_local_decoder (no decoder projection to k slots)");
  for (auto [name, w] : {std::pair{"cross_attn_window_encoder", cross_attn_window_encoder},
                         std::pair{"cross_attn_window_decoder", cross_attn_window_decoder}})
    if (w && *w < 1) fail(name, "must be positive");
  if (patching_threshold && !(*patching_threshold >= 0)) fail("patching_threshold", "must be a number >= 0");
  if (max_patch_length && *max_patch_length < 1) fail("max_patch_length", "must be positive");
}

void BltArgs::check_limits(const std::string& where) const {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw ConfigError(where + ": field '" + field + "' " + why);
  };
  auto bound = [&](const char* field, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      fail(field, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
  };
  using nn::kMaxDim, nn::kMaxLayers, nn::kMaxSeqlen;
  for (auto [name, v] : {std::pair{"dim_global", dim_global}, std::pair{"dim_local_encoder", dim_local_encoder},
                         std::pair{"dim_local_decoder", dim_local_decoder}, std::pair{"n_heads_global", n_heads_global},
                         std::pair{"n_heads_local_encoder", n_heads_local_encoder},
                         std::pair{"n_heads_local_decoder", n_heads_local_decoder},
                         std::pair{"multiple_of", multiple_of}})
    bound(name, v, 1, kMaxDim);
  for (auto [name, v] : {std::pair{"n_layers_global", n_layers_global},
                         std::pair{"n_layers_local_encoder", n_layers_local_encoder},
                         std::pair{"n_layers_local_decoder", n_layers_local_decoder}})
    bound(name, v, 0, kMaxLayers);
  for (auto [name, v] : {std::pair{"n_kv_heads_global", n_kv_heads_global}, std::pair{"n_kv_heads", n_kv_heads},
                         std::pair{"head_dim", head_dim}, std::pair{"dim_token", dim_token},
                         std::pair{"cross_attn_nheads", cross_attn_nheads}})
    if (v) bound(name, *v, 1, kMaxDim);
  for (auto [name, v] : {std::pair{"max_seqlen", max_seqlen}, std::pair{"max_encoder_seq_length", max_encoder_seq_length},
                         std::pair{"local_attention_window_len", local_attention_window_len}})
    bound(name, v, 1, kMaxSeqlen);
  for (auto [name, v] : {std::pair{"cross_attn_window_encoder", cross_attn_window_encoder},
                         std::pair{"cross_attn_window_decoder", cross_attn_window_decoder},
                         std::pair{"max_patch_length", max_patch_length}})
    if (v) bound(name, *v, 1, kMaxSeqlen);
  if (cross_attn_k) bound("cross_attn_k", *cross_attn_k, 1, kMaxCrossAttnK);
  if (!(ffn_dim_multiplier > 0 && ffn_dim_multiplier <= nn::kMaxFfnDimMultiplier))
    fail("ffn_dim_multiplier", "must be in (0, 64], got " + std::to_string(ffn_dim_multiplier));
  bound("encoder_hash_byte_group_vocab", encoder_hash_byte_group_vocab, 1, kMaxHashVocab);
  if (encoder_hash_byte_group_size.size() > static_cast<size_t>(kMaxHashGroups))
    fail("encoder_hash_byte_group_size", "has more than " + std::to_string(kMaxHashGroups) + " entries");
  for (int64_t g : encoder_hash_byte_group_size) bound("encoder_hash_byte_group_size", g, 1, kMaxHashGroupSize);

  // Every field is bounded now, so these products cannot overflow a double's integer range.
  auto tensor = [&](const char* field, double elements) {
    if (elements > nn::kMaxTensorElements)
      fail(field, "makes a weight tensor of " + std::to_string(elements) + " elements (limit 2^34)");
  };
  const double d_enc = static_cast<double>(encoder_dim_token_emb()), d_glob = static_cast<double>(dim_global),
               d_dec = static_cast<double>(dim_local_decoder), kk = static_cast<double>(k()),
               vocab = static_cast<double>(encoder_hash_byte_group_vocab);
  tensor("encoder_hash_byte_group_vocab", vocab * d_enc);
  const double patch_in = d_enc * std::max<double>(kk, 3);  // pooled modes (<= 3) or k cross-attention slots
  tensor("cross_attn_k", patch_in * d_glob);
  tensor("cross_attn_k", d_glob * d_dec * kk);
  double total = static_cast<double>(n_hash_tables()) * vocab * d_enc + patch_in * d_glob + d_glob * d_dec * kk +
                 2 * 260.0 * (d_enc + d_dec);
  if (total > nn::kMaxTotalParams) fail("encoder_hash_byte_group_vocab", "makes more than 2^36 parameters");
  // The stacks' own fields (heads, FFN width, per-tensor sizes), then their parameters.
  encoder_args().validate(where + " (local encoder)");
  decoder_args().validate(where + " (local decoder)");
  global_args().validate(where + " (global transformer)");
  for (const nn::TransformerArgs& t : {encoder_args(), decoder_args(), global_args()}) total += t.n_params();
  if (total > nn::kMaxTotalParams)
    fail("n_layers_global", "the model would have " + std::to_string(total) + " parameters (limit 2^36)");
}

namespace {

// The sizes and numerics of the three transformers (dims, layers, heads, RoPE, init, sequence lengths).
void read_transformer_fields(io::JsonFields& f, BltArgs& a) {
  f.optional("seed", a.seed);
  f.optional("vocab_size", a.vocab_size);
  f.optional("eos_id", a.eos_id);
  f.required("dim_global", a.dim_global);
  f.required("n_layers_global", a.n_layers_global);
  f.required("n_heads_global", a.n_heads_global);
  f.optional("n_kv_heads_global", a.n_kv_heads_global);
  f.required("dim_local_encoder", a.dim_local_encoder);
  f.required("n_layers_local_encoder", a.n_layers_local_encoder);
  f.required("n_heads_local_encoder", a.n_heads_local_encoder);
  f.required("dim_local_decoder", a.dim_local_decoder);
  f.required("n_layers_local_decoder", a.n_layers_local_decoder);
  f.required("n_heads_local_decoder", a.n_heads_local_decoder);
  f.optional("n_kv_heads", a.n_kv_heads);
  f.optional("head_dim", a.head_dim);
  f.optional("dim_token", a.dim_token);
  f.optional("multiple_of", a.multiple_of);
  f.optional("ffn_dim_multiplier", a.ffn_dim_multiplier);
  f.optional("norm_eps", a.norm_eps);
  f.optional("rope_theta", a.rope_theta);
  f.optional("init_base_std", a.init_base_std);
  a.init_std_factor = nn::read_init_std_factor(f);
  f.optional("max_seqlen", a.max_seqlen);
  f.required("max_encoder_seq_length", a.max_encoder_seq_length);
  f.required("local_attention_window_len", a.local_attention_window_len);
  f.optional("attn_bias_type", a.attn_bias_type);
}

// The patcher settings kept with the model.
void read_patching_fields(io::JsonFields& f, BltArgs& a) {
  f.optional("patching_mode", a.patching_mode);
  f.optional("patch_size", a.patch_size);
  f.optional("patching_threshold", a.patching_threshold);
  f.optional("patching_threshold_add", a.patching_threshold_add);
  f.optional("monotonicity", a.monotonicity);
  f.optional("max_patch_length", a.max_patch_length);
}

// The hash n-gram embeddings; the group sizes are a list of ints or, as the reference also accepts, "3,4,5".
void read_hash_ngram_fields(io::JsonFields& f, const nlohmann::json& obj, BltArgs& a) {
  if (f.has("encoder_hash_byte_group_size") && obj.at("encoder_hash_byte_group_size").is_string()) {
    std::string s;
    f.required("encoder_hash_byte_group_size", s);
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');)
      if (!item.empty()) {
        try {
          a.encoder_hash_byte_group_size.push_back(std::stoll(item));
        } catch (const std::exception&) {
          throw ConfigError(f.where() + ": field 'encoder_hash_byte_group_size': '" + item + "' is not an integer");
        }
      }
  } else {
    f.optional("encoder_hash_byte_group_size", a.encoder_hash_byte_group_size);
  }
  f.optional("encoder_hash_byte_group_vocab", a.encoder_hash_byte_group_vocab);
  f.optional("encoder_hash_byte_group_nb_functions", a.encoder_hash_byte_group_nb_functions);
}

// Cross attention, pooling and the local models' embedding/transformer switches.
void read_cross_attention_fields(io::JsonFields& f, BltArgs& a) {
  f.optional("cross_attn_encoder", a.cross_attn_encoder);
  f.optional("cross_attn_decoder", a.cross_attn_decoder);
  f.optional("cross_attn_window_encoder", a.cross_attn_window_encoder);
  f.optional("cross_attn_window_decoder", a.cross_attn_window_decoder);
  f.optional("cross_attn_k", a.cross_attn_k);
  f.optional("cross_attn_nheads", a.cross_attn_nheads);
  f.optional("cross_attn_all_layers_encoder", a.cross_attn_all_layers_encoder);
  f.optional("cross_attn_all_layers_decoder", a.cross_attn_all_layers_decoder);
  f.optional("cross_attn_init_by_pooling", a.cross_attn_init_by_pooling);
  f.optional("downsampling_by_pooling", a.downsampling_by_pooling);
  f.optional("share_encoder_decoder_emb", a.share_encoder_decoder_emb);
  f.optional("use_local_encoder_transformer", a.use_local_encoder_transformer);
}

// Reference fields that must keep their default, or stay null, for this implementation: ConfigError otherwise.
void check_unsupported_fields(io::JsonFields& f) {
  auto must_be = [&](const char* name, auto expected, const std::string& why) {
    decltype(expected) v = expected;
    f.optional(name, v);
    if (v != expected) throw ConfigError(f.where() + ": field '" + name + "' " + why);
  };
  must_be("use_rope", true, "must be true (the reference crashes without RoPE)");
  must_be("weight_tying", false, "tied weights are not supported (the reference crashes)");
  must_be("dropout", 0.0, "dropout is not supported; use 0");
  must_be("non_linearity", std::string("swiglu"), "only swiglu is supported");
  must_be("norm_type", std::string("rmsnorm"), "only rmsnorm is supported");
  must_be("pre_norm", true, "only pre-norm blocks are supported");
  must_be("norm_affine", true, "only affine norms are supported");
  must_be("pm_size", int64_t{0}, "parameter mixing is not supported; use 0");
  must_be("encoder_enable_byte_ngrams", false, "n-gram table embeddings are not supported");
  must_be("tie_local_encoder_decoder", false, "is not supported");
  must_be("tie_local_encoder_decoder_logits", false, "is not supported");
  for (const char* name : {"encoder_ngram_to_size_str", "encoder_ngram_table_dir", "ngram_vocab_sizes",
                           "global_local_decoder_residual_layer", "conv_kernel_size", "dim_token_emb",
                           "dim_patch_emb"}) {
    if (f.has(name)) throw ConfigError(f.where() + ": field '" + std::string(name) + "' is not supported; use null");
    f.ignore({name});  // null (the reference's default) is accepted silently
  }
}

// Reference fields about devices, parallelism, logging or training tricks: no effect on the computation.
void ignore_runtime_fields(io::JsonFields& f) {
  f.ignore({"dim", "n_layers", "n_heads", "attn_impl", "alpha_depth", "architecture", "attn_to_keep",
            "cross_attn_use_flex_attention", "custom_bwd", "encoder_enable_byte_group_hash", "encoder_lm_loss",
            "encoder_preds_low_entropy_toks", "encoder_preds_random_toks", "entropy_model_checkpoint_dir",
            "entropy_model_is_ngram_model", "full_logging_n_layers", "fuse_sequence_parallel", "init_use_depth",
            "init_use_gaussian", "layer_ckpt", "log_patch_lengths", "loss_parallel", "max_length", "output_size",
            "pad_to_max_length", "patch_in_forward", "patching_batch_size", "patching_device",
            "patching_thresholds_str", "recompute_attn", "recompute_fc1_out", "recompute_fc3_out",
            "rope_use_fp32_in_outer_product", "sequence_parallel", "tokenize_with_bpe_delimiter", "use_fsdp",
            "init_device", "init_dtype"});
}

}  // namespace

BltArgs parse_blt_args(const nlohmann::json& obj, const std::string& where) {
  io::JsonFields f(obj, where);
  BltArgs a;
  read_transformer_fields(f, a);
  read_patching_fields(f, a);
  read_hash_ngram_fields(f, obj, a);
  read_cross_attention_fields(f, a);
  check_unsupported_fields(f);
  ignore_runtime_fields(f);
  f.finish();
  a.validate(where);
  return a;
}

nlohmann::json to_json(const BltArgs& a) {
  auto opt = [](const auto& v) -> nlohmann::json {
    if (v) return *v;
    return nullptr;
  };
  return {{"seed", a.seed},
          {"vocab_size", a.vocab_size},
          {"eos_id", a.eos_id},
          {"dim_global", a.dim_global},
          {"n_layers_global", a.n_layers_global},
          {"n_heads_global", a.n_heads_global},
          {"n_kv_heads_global", opt(a.n_kv_heads_global)},
          {"dim_local_encoder", a.dim_local_encoder},
          {"n_layers_local_encoder", a.n_layers_local_encoder},
          {"n_heads_local_encoder", a.n_heads_local_encoder},
          {"dim_local_decoder", a.dim_local_decoder},
          {"n_layers_local_decoder", a.n_layers_local_decoder},
          {"n_heads_local_decoder", a.n_heads_local_decoder},
          {"n_kv_heads", opt(a.n_kv_heads)},
          {"head_dim", opt(a.head_dim)},
          {"dim_token", opt(a.dim_token)},
          {"multiple_of", a.multiple_of},
          {"ffn_dim_multiplier", a.ffn_dim_multiplier},
          {"norm_eps", a.norm_eps},
          {"rope_theta", a.rope_theta},
          {"init_base_std", opt(a.init_base_std)},
          {"init_std_factor", nn::to_string(a.init_std_factor)},
          {"max_seqlen", a.max_seqlen},
          {"max_encoder_seq_length", a.max_encoder_seq_length},
          {"local_attention_window_len", a.local_attention_window_len},
          {"attn_bias_type", a.attn_bias_type},
          {"attn_impl", "xformers"},
          {"patching_mode", a.patching_mode},
          {"patch_size", a.patch_size},
          {"patching_threshold", opt(a.patching_threshold)},
          {"patching_threshold_add", opt(a.patching_threshold_add)},
          {"monotonicity", a.monotonicity},
          {"max_patch_length", opt(a.max_patch_length)},
          {"encoder_hash_byte_group_size",
           a.encoder_hash_byte_group_size.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.encoder_hash_byte_group_size)},
          {"encoder_hash_byte_group_vocab", a.encoder_hash_byte_group_vocab},
          {"encoder_hash_byte_group_nb_functions", a.encoder_hash_byte_group_nb_functions},
          {"cross_attn_encoder", a.cross_attn_encoder},
          {"cross_attn_decoder", a.cross_attn_decoder},
          {"cross_attn_window_encoder", opt(a.cross_attn_window_encoder)},
          {"cross_attn_window_decoder", opt(a.cross_attn_window_decoder)},
          {"cross_attn_k", opt(a.cross_attn_k)},
          {"cross_attn_nheads", opt(a.cross_attn_nheads)},
          {"cross_attn_all_layers_encoder", a.cross_attn_all_layers_encoder},
          {"cross_attn_all_layers_decoder", a.cross_attn_all_layers_decoder},
          {"cross_attn_init_by_pooling", a.cross_attn_init_by_pooling},
          {"downsampling_by_pooling", a.downsampling_by_pooling.empty() ? nlohmann::json(nullptr)
                                                                        : nlohmann::json(a.downsampling_by_pooling)},
          {"share_encoder_decoder_emb", a.share_encoder_decoder_emb},
          {"use_local_encoder_transformer", a.use_local_encoder_transformer},
          {"use_rope", true},
          {"weight_tying", false},
          {"dropout", 0.0},
          {"vocab_size", a.vocab_size}};
}

}  // namespace blt::model
