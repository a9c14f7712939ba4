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

void TransformerArgs::validate(const std::string& where) const {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw ConfigError(where + ": field '" + field + "' " + why);
  };
  if (dim <= 0) fail("dim", "must be positive");
  if (n_layers < 0) fail("n_layers", "must not be negative");
  if (!n_heads && !head_dim) fail("n_heads", "or head_dim must be set");
  if (heads() <= 0) fail("n_heads", "must be positive");
  if (dim % heads() != 0) fail("n_heads", "must divide dim (" + std::to_string(dim) + ")");
  if (kv_heads() <= 0 || heads() % kv_heads() != 0) fail("n_kv_heads", "must divide n_heads");
  if (head_size() % 2 != 0) fail("head_dim", "must be even for RoPE");
  if (multiple_of <= 0) fail("multiple_of", "must be positive");
  if (!(norm_eps > 0)) fail("norm_eps", "must be positive");
  if (!(rope_theta > 0)) fail("rope_theta", "must be positive");
  if (max_seqlen <= 0) fail("max_seqlen", "must be positive");
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
