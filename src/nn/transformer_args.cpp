// Derived sizes of TransformerArgs, following bytelatent/base_transformer.py.
#include "nn/transformer_args.h"

#include <cmath>

#include "core/error.h"
#include "io/json_fields.h"

namespace blt::nn {

int64_t TransformerArgs::ffn_hidden() const {
  int64_t h = static_cast<int64_t>(2.0 * (4 * dim) / 3.0);
  if (ffn_dim_multiplier) h = static_cast<int64_t>(*ffn_dim_multiplier * static_cast<double>(h));
  return multiple_of * ((h + multiple_of - 1) / multiple_of);
}

double TransformerArgs::init_factor(int64_t depth) const {
  switch (init_std_factor) {
    case InitStdFactor::CurrentDepth: return std::sqrt(2.0 * (depth + 1));
    case InitStdFactor::GlobalDepth: return std::sqrt(2.0 * (n_layers + 1));
    case InitStdFactor::DimRatio: return static_cast<double>(dim) / 4096.0;
    case InitStdFactor::Disabled: break;
  }
  return 1.0;
}

double TransformerArgs::n_params() const {
  const double d = static_cast<double>(dim), q = static_cast<double>(heads()) * static_cast<double>(head_size()),
               kv = static_cast<double>(kv_heads()) * static_cast<double>(head_size()),
               f = static_cast<double>(ffn_hidden());
  return static_cast<double>(n_layers) * (d * q * 2 + d * kv * 2 + 3 * d * f + 2 * d) + d;
}

void TransformerArgs::validate(const std::string& where) const {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw ConfigError(where + ": field '" + field + "' " + why);
  };
  auto bound = [&](const char* field, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      fail(field, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
  };
  bound("dim", dim, 1, kMaxDim);
  bound("n_layers", n_layers, 0, kMaxLayers);
  if (!n_heads && !head_dim) fail("n_heads", "or head_dim must be set");
  // head_dim first: heads() divides by it when n_heads is unset.
  if (head_dim) bound("head_dim", *head_dim, 1, kMaxDim);
  if (n_heads) bound("n_heads", *n_heads, 1, kMaxDim);
  if (n_kv_heads) bound("n_kv_heads", *n_kv_heads, 1, kMaxDim);
  if (heads() <= 0)
    fail(n_heads ? "n_heads" : "head_dim", n_heads ? "must be positive" : "must not exceed dim (" + std::to_string(dim) + ")");
  if (dim % heads() != 0) fail("n_heads", "must divide dim (" + std::to_string(dim) + ")");
  if (kv_heads() <= 0 || heads() % kv_heads() != 0) fail("n_kv_heads", "must divide n_heads");
  if (head_size() % 2 != 0) fail("head_dim", "must be even for RoPE");
  bound("multiple_of", multiple_of, 1, kMaxDim);
  if (ffn_dim_multiplier && !(*ffn_dim_multiplier > 0 && *ffn_dim_multiplier <= kMaxFfnDimMultiplier))
    fail("ffn_dim_multiplier", "must be in (0, " + std::to_string(kMaxFfnDimMultiplier) + "], got " +
                                   std::to_string(*ffn_dim_multiplier));
  if (!(norm_eps > 0) || !std::isfinite(norm_eps)) fail("norm_eps", "must be positive and finite");
  if (!(rope_theta > 0) || !std::isfinite(rope_theta)) fail("rope_theta", "must be positive and finite");
  bound("max_seqlen", max_seqlen, 1, kMaxSeqlen);
  // With every field bounded above, these products fit in int64 and ffn_hidden() cannot overflow.
  const double d = static_cast<double>(dim);
  auto tensor = [&](const char* field, double elements) {
    if (elements > kMaxTensorElements)
      fail(field, "makes a weight tensor of " + std::to_string(elements) + " elements (limit 2^34)");
  };
  tensor(n_heads ? "n_heads" : "head_dim", d * static_cast<double>(heads()) * static_cast<double>(head_size()));
  tensor("ffn_dim_multiplier", d * static_cast<double>(ffn_hidden()));
  if (n_params() > kMaxTotalParams)
    fail("n_layers", "makes " + std::to_string(n_params()) + " parameters (limit 2^36)");
}

InitStdFactor parse_init_std_factor(const std::string& s) {
  if (s == "disabled") return InitStdFactor::Disabled;
  if (s == "global_depth") return InitStdFactor::GlobalDepth;
  if (s == "current_depth") return InitStdFactor::CurrentDepth;
  if (s == "dim_ratio") return InitStdFactor::DimRatio;
  throw ConfigError("field 'init_std_factor': unknown value '" + s +
                    "' (expected disabled, global_depth, current_depth or dim_ratio)");
}

InitStdFactor read_init_std_factor(io::JsonFields& f) {
  std::string factor = "disabled";
  f.optional("init_std_factor", factor);
  return parse_init_std_factor(factor);
}

std::string to_string(InitStdFactor f) {
  switch (f) {
    case InitStdFactor::GlobalDepth: return "global_depth";
    case InitStdFactor::CurrentDepth: return "current_depth";
    case InitStdFactor::DimRatio: return "dim_ratio";
    case InitStdFactor::Disabled: break;
  }
  return "disabled";
}

}  // namespace blt::nn
