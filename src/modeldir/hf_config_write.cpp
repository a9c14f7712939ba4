// Writing the transformers BLT config.json from our configuration (the mapping is described in
// hf_config.h): the HF fields, our extra fields under the official names, and the checks that refuse
// what the port cannot express.
#include "modeldir/hf_config.h"

namespace blt::modeldir {

using nlohmann::json;

namespace {

// The port fixes these official choices: anything else would run differently in transformers.
void check_representable(const model::BltArgs& a, const std::string& where) {
  auto need = [&](bool ok, const char* field, const std::string& why) {
    if (!ok) throw ConfigError(where + ": field '" + field + "' " + why + " in the transformers BLT port");
  };
  need(a.cross_attn_encoder && a.cross_attn_decoder,
       a.cross_attn_encoder ? "cross_attn_decoder" : "cross_attn_encoder",
       "must be true: both local models cross-attend");
  need(a.cross_attn_init_by_pooling, "cross_attn_init_by_pooling",
       "must be true: patch queries start from pooling");
  need(a.downsampling_by_pooling == "max", "downsampling_by_pooling",
       "must be \"max\": patches are max-pooled");
  need(a.cross_attn_nheads == a.n_heads_local_encoder && a.n_heads_local_decoder == a.n_heads_local_encoder,
       "cross_attn_nheads",
       "must equal n_heads_local_encoder and n_heads_local_decoder: cross attention uses them");
  need(!a.head_dim, "head_dim", "must be null: heads are dim / n_heads");
  need(!a.dim_token, "dim_token", "must be null: token embeddings are dim_local_encoder wide");
  need(!a.cross_attn_window_encoder, "cross_attn_window_encoder",
       "must be null: cross attention has no window");
  need(!a.cross_attn_window_decoder, "cross_attn_window_decoder",
       "must be null: cross attention has no window");
  need(a.share_encoder_decoder_emb, "share_encoder_decoder_emb", "must be true");
  need(!a.encoder_hash_byte_group_size.empty(), "encoder_hash_byte_group_size",
       "must not be empty: an empty list means 3,4,5,6,7,8");
  need(a.dim_global != a.dim_local_decoder, "dim_global",
       "must differ from dim_local_decoder: the decoder always projects the global states");
}

// A stack's HF sub-config fields.
json stack_json(const nn::TransformerArgs& t) {
  return {{"hidden_size", t.dim},
          {"num_attention_heads", t.heads()},
          {"num_key_value_heads", t.n_kv_heads ? json(*t.n_kv_heads) : json(nullptr)},
          {"num_hidden_layers", t.n_layers},
          {"max_position_embeddings", t.max_seqlen},
          {"intermediate_size", t.ffn_hidden()},
          {"rms_norm_eps", t.norm_eps},
          {"rope_theta", t.rope_theta},
          {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", t.rope_theta}}},
          {"hidden_act", "silu"},
          {"dropout", 0.0}};
}

// The official JSON's `names` copied into `out` (our extra fields).
void copy_fields(const json& from, json& out, std::initializer_list<const char*> names) {
  for (const char* n : names) out[n] = from.at(n);
}

json patcher_json(const lm::LMTransformerArgs& e, const std::string& where) {
  if (e.head_dim)
    throw ConfigError(where + " (entropy model): field 'head_dim' must be null in the transformers BLT port");
  json p = stack_json(e);
  p["vocab_size"] = e.vocab_size;
  copy_fields(lm::to_json(e), p,
              {"attn_bias_type", "sliding_window", "eos_id", "seed", "multiple_of", "ffn_dim_multiplier",
               "init_base_std", "init_std_factor"});
  return p;
}

// The local models' sub-configs.
json local_json(const model::BltArgs& a, const nn::TransformerArgs& t, bool all_layers) {
  json j = stack_json(t);
  j.update({{"vocab_size", a.vocab_size},
            {"cross_attn_k", a.k()},
            {"hidden_size_global", a.dim_global},
            {"cross_attn_all_layers", all_layers}});
  return j;
}

}  // namespace

json hf_config_json(const model::BltArgs& a, const patching::PatcherArgs& p,
                    const lm::LMTransformerArgs* entropy, const std::string& where) {
  check_representable(a, where);
  const json ja = model::to_json(a), jp = patching::to_json(p);
  json enc = local_json(a, a.encoder_args(), a.cross_attn_all_layers_encoder);
  enc["pm_size"] = 0;
  json hf = {{"model_type", kHfModelType},
             {"architectures", {"BltForCausalLM"}},
             {"vocab_size", a.vocab_size},
             {"max_position_embeddings", a.max_seqlen},
             {"bos_token_id", 1},
             {"eos_token_id", a.eos_id},
             {"tie_word_embeddings", false},
             {"patch_in_forward", entropy != nullptr},
             {"patching_mode", jp.at("patching_mode")},
             {"patch_size", p.patch_size},
             {"patching_threshold", p.threshold},
             {"patching_threshold_add", jp.at("threshold_add")},
             {"max_patch_length", jp.at("max_patch_length")},
             {"monotonicity", p.monotonicity},
             {"realtime_patching", p.realtime_patching},
             {"patching_batch_size", p.patching_batch_size},
             {"patching_device", p.patching_device},
             {"cross_attn_k", a.k()},
             {"encoder_hash_byte_group_size", a.encoder_hash_byte_group_size},
             {"encoder_hash_byte_group_vocab", a.encoder_hash_byte_group_vocab},
             {"encoder_hash_byte_group_nb_functions", a.encoder_hash_byte_group_nb_functions},
             {"encoder_config", enc},
             {"decoder_config", local_json(a, a.decoder_args(), a.cross_attn_all_layers_decoder)},
             {"global_config", stack_json(a.global_args())}};
  copy_fields(ja, hf,
              {"seed", "multiple_of", "ffn_dim_multiplier", "init_base_std", "init_std_factor",
               "local_attention_window_len", "attn_bias_type"});
  json& own = hf["blt_args_patching"] = json::object();
  copy_fields(ja, own,
              {"patching_mode", "patch_size", "patching_threshold", "patching_threshold_add", "monotonicity",
               "max_patch_length"});
  if (entropy) hf["patcher_config"] = patcher_json(*entropy, where);
  return hf;
}

}  // namespace blt::modeldir
