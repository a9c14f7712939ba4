// JSON (de)serialisation of LMTransformerArgs.
#include "lm/lm_args.h"

#include "io/json_fields.h"

namespace blt::lm {

namespace {
AttnBias parse_bias(const std::string& s, const std::string& where) {
  if (s == "causal") return AttnBias::Causal;
  if (s == "block_causal") return AttnBias::BlockCausal;
  if (s == "local_block_causal") return AttnBias::LocalBlockCausal;
  throw ConfigError(where + ": field 'attn_bias_type': unsupported value '" + s +
                    "' (expected causal, block_causal or local_block_causal)");
}
std::string bias_name(AttnBias b) {
  switch (b) {
    case AttnBias::Causal: return "causal";
    case AttnBias::BlockCausal: return "block_causal";
    case AttnBias::LocalBlockCausal: break;
  }
  return "local_block_causal";
}
}  // namespace

LMTransformerArgs parse_lm_args(const nlohmann::json& obj, const std::string& where) {
  io::JsonFields f(obj, where);
  LMTransformerArgs a;
  f.required("dim", a.dim);
  f.required("n_layers", a.n_layers);
  f.optional("head_dim", a.head_dim);
  f.optional("n_heads", a.n_heads);
  f.optional("n_kv_heads", a.n_kv_heads);
  f.optional("ffn_dim_multiplier", a.ffn_dim_multiplier);
  f.optional("multiple_of", a.multiple_of);
  f.optional("norm_eps", a.norm_eps);
  f.optional("rope_theta", a.rope_theta);
  f.optional("init_base_std", a.init_base_std);
  a.init_std_factor = nn::read_init_std_factor(f);
  f.optional("max_seqlen", a.max_seqlen);
  f.optional("vocab_size", a.vocab_size);
  f.optional("seed", a.seed);
  f.optional("weight_tying", a.weight_tying);
  f.optional("eos_id", a.eos_id);
  const bool has_bias = f.has("attn_bias_type"), has_window = f.has("sliding_window");
  f.optional("sliding_window", a.sliding_window);
  if (has_bias) {
    std::string b;
    f.required("attn_bias_type", b);
    a.attn_bias_type = parse_bias(b, where);
  } else if (!has_window) {
    // The released entropy model's params.json has neither: the official loader forces these.
    a.attn_bias_type = AttnBias::LocalBlockCausal;
    a.sliding_window = 512;
  }
  f.ignore({"attn_impl", "rope_use_fp32_in_outer_product", "init_device", "init_dtype"});
  f.finish();

  a.validate(where);
  if (a.vocab_size != 260) throw ConfigError(where + ": field 'vocab_size' must be 260 (bytes + 4 special ids)");
  if (a.weight_tying) throw ConfigError(where + ": field 'weight_tying': tied weights are not supported");
  if (a.attn_bias_type == AttnBias::LocalBlockCausal && !a.sliding_window)
    throw ConfigError(where + ": field 'sliding_window' is required with attn_bias_type local_block_causal");
  if (a.sliding_window && (*a.sliding_window <= 0 || *a.sliding_window > nn::kMaxSeqlen))
    throw ConfigError(where + ": field 'sliding_window' must be in [1, " + std::to_string(nn::kMaxSeqlen) + "]");
  return a;
}

nlohmann::json to_json(const LMTransformerArgs& a) {
  nlohmann::json j = {{"dim", a.dim},
                      {"n_layers", a.n_layers},
                      {"multiple_of", a.multiple_of},
                      {"norm_eps", a.norm_eps},
                      {"rope_theta", a.rope_theta},
                      {"init_std_factor", nn::to_string(a.init_std_factor)},
                      {"max_seqlen", a.max_seqlen},
                      {"vocab_size", a.vocab_size},
                      {"seed", a.seed},
                      {"weight_tying", a.weight_tying},
                      {"eos_id", a.eos_id},
                      {"attn_bias_type", bias_name(a.attn_bias_type)},
                      {"attn_impl", "xformers"}};
  auto opt = [&](const char* k, const auto& v) {
    if (v) j[k] = *v;
    else j[k] = nullptr;
  };
  opt("head_dim", a.head_dim);
  opt("n_heads", a.n_heads);
  opt("n_kv_heads", a.n_kv_heads);
  opt("ffn_dim_multiplier", a.ffn_dim_multiplier);
  opt("init_base_std", a.init_base_std);
  opt("sliding_window", a.sliding_window);
  return j;
}

}  // namespace blt::lm
