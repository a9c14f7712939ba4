// Reading and writing the transformers BLT config.json (the mapping is described in hf_config.h).
// Reading checks every HF field with its HF name, builds the official args / patcher_args /
// entropy_model objects and parses them with the official parsers, so one validation applies.
#include "modeldir/hf_config.h"

#include <vector>

#include "io/json_fields.h"

namespace blt::modeldir {

using nlohmann::json;

namespace {

const json kEmptyObject = json::object();

[[noreturn]] void bad_field(const std::string& where, const std::string& field, const std::string& why) {
  throw ConfigError(where + ": field '" + field + "' " + why);
}

// A typed optional field with a default (the port's).
template <class T>
T get(io::JsonFields& f, const char* name, T value) {
  f.optional(name, value);
  return value;
}

// A typed optional field as JSON: null when absent.
template <class T>
json opt(io::JsonFields& f, const char* name) {
  std::optional<T> v;
  f.optional(name, v);
  return v ? json(*v) : json(nullptr);
}

// One transformer stack of the HF config (defaults: the port's local encoder).
struct HfStack {
  int64_t hidden = 1024, heads = 16, layers = 1, max_pos = 24576, intermediate = 2816;
  std::optional<int64_t> kv_heads;
  double eps = 1e-5, theta = 500000.0;
};

// rope_parameters {"rope_type": "default", "rope_theta": x} (transformers 5), or rope_theta and
// rope_scaling (4.x). Only the default RoPE is supported.
double read_rope(io::JsonFields& f, double theta) {
  f.optional("rope_theta", theta);
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    if (!f.has(key)) {
      f.ignore({key});
      continue;
    }
    io::JsonFields r(f.object(key), f.where() + ": " + key);
    std::string type = get<std::string>(r, "type", "default");
    type = get<std::string>(r, "rope_type", type);
    if (type != "default") bad_field(r.where(), "rope_type", "must be \"default\", got \"" + type + "\"");
    if (std::string(key) == "rope_parameters") theta = get<double>(r, "rope_theta", theta);
    r.finish();
  }
  return theta;
}

HfStack read_stack(io::JsonFields& f, HfStack s) {
  s.hidden = get(f, "hidden_size", s.hidden);
  s.heads = get(f, "num_attention_heads", s.heads);
  f.optional("num_key_value_heads", s.kv_heads);
  s.layers = get(f, "num_hidden_layers", s.layers);
  s.max_pos = get(f, "max_position_embeddings", s.max_pos);
  s.intermediate = get(f, "intermediate_size", s.intermediate);
  s.eps = get(f, "rms_norm_eps", s.eps);
  s.theta = read_rope(f, s.theta);
  if (get<double>(f, "dropout", 0.0) != 0.0)
    bad_field(f.where(), "dropout", "must be 0 (dropout is not supported)");
  if (get<std::string>(f, "hidden_act", "silu") != "silu")
    bad_field(f.where(), "hidden_act", "must be \"silu\" (the SwiGLU feed-forward)");
  if (f.has("head_dim") && s.heads > 0 && get<int64_t>(f, "head_dim", 0) != s.hidden / s.heads)
    bad_field(f.where(), "head_dim", "must be hidden_size / num_attention_heads");
  f.ignore({"head_dim"});
  f.ignore({"initializer_range", "_attn_implementation", "attn_impl", "norm_eps", "model_type",
            "transformers_version", "torch_dtype", "dtype", "tie_word_embeddings", "_name_or_path"});
  return s;
}

// The sub-config `key` (absent: the port's defaults `d`), read as a stack plus what `more` reads.
template <class More>
HfStack read_sub(io::JsonFields& top, const char* key, HfStack d, More more) {
  const json* obj = &kEmptyObject;
  if (top.has(key)) obj = &top.object(key);
  top.ignore({key});
  io::JsonFields f(*obj, top.where() + ": " + key);
  const HfStack s = read_stack(f, d);
  more(f);
  f.finish();
  return s;
}

// Both local models' cross-attention fields must agree with the top level.
void read_local_extras(io::JsonFields& f, json& args, const char* all_layers_field, bool all_layers_default,
                       const json& top_args, int64_t* hidden_global) {
  args[all_layers_field] = get<bool>(f, "cross_attn_all_layers", all_layers_default);
  if (get<int64_t>(f, "vocab_size", 260) != top_args.at("vocab_size").get<int64_t>())
    bad_field(f.where(), "vocab_size", "must equal the top-level vocab_size");
  if (get<int64_t>(f, "cross_attn_k", 2) != top_args.at("cross_attn_k").get<int64_t>())
    bad_field(f.where(), "cross_attn_k", "must equal the top-level cross_attn_k");
  *hidden_global = get<int64_t>(f, "hidden_size_global", 2048);
  if (get<int64_t>(f, "pm_size", 0) != 0)
    bad_field(f.where(), "pm_size", "must be 0 (parameter mixing is not supported)");
}

// The top level's model fields (official names in `args`) and patcher settings (`patcher`).
void read_top(io::JsonFields& f, json& args, json& patcher, json& blt_patching) {
  args["vocab_size"] = get<int64_t>(f, "vocab_size", 260);
  args["eos_id"] = get<int64_t>(f, "eos_token_id", 2);
  args["cross_attn_k"] = get<int64_t>(f, "cross_attn_k", 2);
  args["encoder_hash_byte_group_size"] =
      get<std::vector<int64_t>>(f, "encoder_hash_byte_group_size", {3, 4, 5, 6, 7, 8});
  args["encoder_hash_byte_group_vocab"] = get<int64_t>(f, "encoder_hash_byte_group_vocab", 500002);
  args["encoder_hash_byte_group_nb_functions"] = get<int64_t>(f, "encoder_hash_byte_group_nb_functions", 1);
  patcher["patching_mode"] = get<std::string>(f, "patching_mode", "entropy");
  patcher["patch_size"] = get<double>(f, "patch_size", 4.0);
  patcher["threshold"] = get<double>(f, "patching_threshold", 1.335442066192627);
  patcher["threshold_add"] = opt<double>(f, "patching_threshold_add");
  patcher["max_patch_length"] = opt<int64_t>(f, "max_patch_length");
  patcher["monotonicity"] = get<bool>(f, "monotonicity", false);
  patcher["realtime_patching"] = get<bool>(f, "realtime_patching", true);
  patcher["patching_batch_size"] = get<int64_t>(f, "patching_batch_size", 1);
  patcher["patching_device"] = get<std::string>(f, "patching_device", "cuda");
  if (get<bool>(f, "tie_word_embeddings", false))
    bad_field(f.where(), "tie_word_embeddings", "must be false");
  if (get<int64_t>(f, "pm_size", 0) != 0)
    bad_field(f.where(), "pm_size", "must be 0 (parameter mixing is not supported)");
  // Our extra fields (the port ignores them), typed here so errors name them.
  for (const char* name : {"seed", "multiple_of", "local_attention_window_len"})
    if (json v = opt<int64_t>(f, name); !v.is_null()) args[name] = v;
  for (const char* name : {"ffn_dim_multiplier", "init_base_std"})
    if (json v = opt<double>(f, name); !v.is_null()) args[name] = v;
  for (const char* name : {"init_std_factor", "attn_bias_type"})
    if (json v = opt<std::string>(f, name); !v.is_null()) args[name] = v;
  // The BLT args' own patching fields, when they travelled; else the patcher's.
  blt_patching = {
      {"patching_mode", patcher["patching_mode"]},  {"patch_size", patcher["patch_size"]},
      {"patching_threshold", patcher["threshold"]}, {"patching_threshold_add", patcher["threshold_add"]},
      {"monotonicity", patcher["monotonicity"]},    {"max_patch_length", patcher["max_patch_length"]}};
  if (f.has("blt_args_patching")) {
    const json& own = f.object("blt_args_patching");
    io::JsonFields pf(own, f.where() + ": blt_args_patching");
    for (const char* k : {"patching_mode", "patch_size", "patching_threshold", "patching_threshold_add",
                          "monotonicity", "max_patch_length"}) {
      pf.ignore({k});
      if (!own.contains(k)) continue;
      if (!own.at(k).is_primitive())
        bad_field(pf.where(), k, "must be a number, a string, a boolean or null");
      blt_patching[k] = own.at(k);  // its type is checked by parse_blt_args
    }
    pf.finish();
  }
  f.ignore({"blt_args_patching", "architectures", "transformers_version", "torch_dtype", "dtype",
            "bos_token_id", "pad_token_id", "use_cache", "initializer_range", "max_position_embeddings",
            "rope_parameters", "rope_theta", "rope_scaling", "_name_or_path", "model_type"});
}

void check_same(const std::string& where, const char* field, double a, double b, const char* what) {
  if (a != b)
    bad_field(where, field, std::string("must equal ") + what + " (one value for all three stacks here)");
}

// The FFN width the official formula gives must be what the config says.
void check_intermediate(const std::string& where, const nn::TransformerArgs& t, int64_t intermediate) {
  if (t.ffn_hidden() != intermediate)
    bad_field(where, "intermediate_size",
              "is " + std::to_string(intermediate) + " but multiple_of " + std::to_string(t.multiple_of) +
                  " and ffn_dim_multiplier give " + std::to_string(t.ffn_hidden()) +
                  " (set the top-level multiple_of / ffn_dim_multiplier)");
}

// The three stacks must agree where the official args have one value for all.
void check_stacks(const std::string& where, const HfStack& enc, const HfStack& dec, const HfStack& glob,
                  int64_t enc_global, int64_t dec_global) {
  const std::string w_enc = where + ": encoder_config", w_dec = where + ": decoder_config",
                    w_glob = where + ": global_config";
  const char* theirs = "encoder_config's";
  check_same(w_dec, "rms_norm_eps", dec.eps, enc.eps, theirs);
  check_same(w_glob, "rms_norm_eps", glob.eps, enc.eps, theirs);
  check_same(w_dec, "rope_theta", dec.theta, enc.theta, theirs);
  check_same(w_glob, "rope_theta", glob.theta, enc.theta, theirs);
  check_same(w_dec, "max_position_embeddings", static_cast<double>(dec.max_pos),
             static_cast<double>(enc.max_pos), theirs);
  check_same(w_dec, "num_attention_heads", static_cast<double>(dec.heads), static_cast<double>(enc.heads),
             "encoder_config's (the official args have one cross_attn_nheads)");
  if (dec.kv_heads != enc.kv_heads) bad_field(w_dec, "num_key_value_heads", "must equal encoder_config's");
  if (enc_global != glob.hidden)
    bad_field(w_enc, "hidden_size_global", "must equal global_config's hidden_size");
  if (dec_global != glob.hidden)
    bad_field(w_dec, "hidden_size_global", "must equal global_config's hidden_size");
}

// The official args' stack fields, and what the port fixes.
json stack_fields(const HfStack& enc, const HfStack& dec, const HfStack& glob) {
  json a = {{"dim_global", glob.hidden},
            {"n_layers_global", glob.layers},
            {"n_heads_global", glob.heads},
            {"dim_local_encoder", enc.hidden},
            {"n_layers_local_encoder", enc.layers},
            {"n_heads_local_encoder", enc.heads},
            {"dim_local_decoder", dec.hidden},
            {"n_layers_local_decoder", dec.layers},
            {"n_heads_local_decoder", dec.heads},
            {"norm_eps", enc.eps},
            {"rope_theta", enc.theta},
            {"max_seqlen", glob.max_pos},
            {"max_encoder_seq_length", enc.max_pos},
            {"cross_attn_encoder", true},
            {"cross_attn_decoder", true},
            {"cross_attn_nheads", enc.heads},
            {"cross_attn_init_by_pooling", true},
            {"downsampling_by_pooling", "max"}};
  if (enc.kv_heads) a["n_kv_heads"] = *enc.kv_heads;
  if (glob.kv_heads) a["n_kv_heads_global"] = *glob.kv_heads;
  return a;
}

}  // namespace

bool is_hf_config(const json& config) {
  return config.is_object() && config.contains("model_type") && config["model_type"] == kHfModelType;
}

namespace {

// patcher_config -> the official entropy_model object.
lm::LMTransformerArgs read_patcher(io::JsonFields& top, int64_t eos, int64_t* intermediate) {
  json e = json::object();
  const HfStack s = read_sub(
      top, "patcher_config", HfStack{768, 12, 14, 8192, 2048, {}, 1e-5, 10000.0}, [&](io::JsonFields& f) {
        e["vocab_size"] = get<int64_t>(f, "vocab_size", 260);
        e["eos_id"] = get<int64_t>(f, "eos_id", eos);
        e["attn_bias_type"] = get<std::string>(f, "attn_bias_type", "causal");
        e["sliding_window"] = opt<int64_t>(f, "sliding_window");
        if (e["attn_bias_type"] == "local_block_causal" && e["sliding_window"].is_null())
          e["sliding_window"] = 512;  // what the official loader uses
        for (const char* name : {"seed", "multiple_of"})
          if (json v = opt<int64_t>(f, name); !v.is_null()) e[name] = v;
        for (const char* name : {"ffn_dim_multiplier", "init_base_std"})
          if (json v = opt<double>(f, name); !v.is_null()) e[name] = v;
        if (json v = opt<std::string>(f, "init_std_factor"); !v.is_null()) e["init_std_factor"] = v;
      });
  e.update({{"dim", s.hidden},
            {"n_layers", s.layers},
            {"n_heads", s.heads},
            {"max_seqlen", s.max_pos},
            {"norm_eps", s.eps},
            {"rope_theta", s.theta}});
  if (s.kv_heads) e["n_kv_heads"] = *s.kv_heads;
  *intermediate = s.intermediate;
  return lm::parse_lm_args(e, top.where() + ": patcher_config (as the official entropy_model)");
}

}  // namespace

HfConfig parse_hf_config(const json& hf, const std::string& where) {
  if (!is_hf_config(hf)) throw ConfigError(where + ": not a transformers BLT config (model_type \"blt\")");
  io::JsonFields f(hf, where);
  json args = json::object(), patcher = json::object(), blt_patching;
  read_top(f, args, patcher, blt_patching);
  int64_t enc_global = 0, dec_global = 0;
  const HfStack enc = read_sub(f, "encoder_config", HfStack{}, [&](io::JsonFields& s) {
    read_local_extras(s, args, "cross_attn_all_layers_encoder", false, args, &enc_global);
  });
  const HfStack dec = read_sub(
      f, "decoder_config", HfStack{1024, 16, 9, 24576, 2816, {}, 1e-5, 500000.0}, [&](io::JsonFields& s) {
        read_local_extras(s, args, "cross_attn_all_layers_decoder", true, args, &dec_global);
      });
  const HfStack glob = read_sub(f, "global_config", HfStack{2048, 16, 25, 4096, 5632, {}, 1e-5, 500000.0},
                                [](io::JsonFields&) {});
  check_stacks(where, enc, dec, glob, enc_global, dec_global);
  args.update(stack_fields(enc, dec, glob));
  if (!args.contains("local_attention_window_len")) args["local_attention_window_len"] = enc.max_pos;
  if (!args.contains("attn_bias_type")) args["attn_bias_type"] = "causal";
  if (!args.contains("multiple_of")) args["multiple_of"] = 256;
  args.update(blt_patching);
  HfConfig c;
  c.args = model::parse_blt_args(args, where + " (as the official args)");
  check_intermediate(where + ": encoder_config", c.args.encoder_args(), enc.intermediate);
  check_intermediate(where + ": decoder_config", c.args.decoder_args(), dec.intermediate);
  check_intermediate(where + ": global_config", c.args.global_args(), glob.intermediate);
  c.patcher = patching::parse_patcher_args(patcher, where + " (patching fields)");
  if (get<bool>(f, "patch_in_forward", true)) {
    int64_t intermediate = 0;
    c.entropy = read_patcher(f, c.args.eos_id, &intermediate);
    check_intermediate(where + ": patcher_config", *c.entropy, intermediate);
  } else {
    f.ignore({"patcher_config"});
  }
  f.finish();
  return c;
}

}  // namespace blt::modeldir
