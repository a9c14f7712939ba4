// The reference's BaseTransformerArgs: the shape of a stack of transformer
// blocks, and the derived sizes (head_dim, FFN hidden width, init std factor).
// validate() also bounds the sizes, before anything is allocated, so a tiny
// hostile config cannot exhaust memory or overflow int64: each field at most
// the k* limits below, any one weight tensor at most 2^34 elements and the
// whole stack at most 2^36 parameters; ffn_dim_multiplier in (0, 64].
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace blt::io {
class JsonFields;
}

namespace blt::nn {

enum class InitStdFactor { Disabled, GlobalDepth, CurrentDepth, DimRatio };

// Limits on configurations (generous for real models: Llama-3 405B has dim 16384, 126 layers).
inline constexpr int64_t kMaxDim = int64_t{1} << 20;             // dim, head_dim, n_heads, multiple_of
inline constexpr int64_t kMaxLayers = 4096;                       // n_layers
inline constexpr int64_t kMaxSeqlen = int64_t{1} << 24;           // max_seqlen (RoPE table rows)
inline constexpr double kMaxTensorElements = 17179869184.0;       // 2^34 elements in one weight tensor
inline constexpr double kMaxTotalParams = 68719476736.0;          // 2^36 parameters in one model
inline constexpr double kMaxFfnDimMultiplier = 64.0;

struct TransformerArgs {
  int64_t dim = 512;                          // model width, e.g. 512
  int64_t n_layers = 8;                       // blocks, e.g. 8
  std::optional<int64_t> head_dim;            // default dim / n_heads
  std::optional<int64_t> n_heads;             // e.g. 8
  std::optional<int64_t> n_kv_heads;          // default n_heads (no grouping)
  std::optional<double> ffn_dim_multiplier;   // e.g. 1.0; None keeps 2/3·4·dim
  int64_t multiple_of = 256;                  // FFN width rounded up to this
  double norm_eps = 1e-5;                     // RMSNorm epsilon
  double rope_theta = 10000.0;                // RoPE base
  std::optional<double> init_base_std;        // default dim^-1/2 per layer
  InitStdFactor init_std_factor = InitStdFactor::Disabled;
  int64_t max_seqlen = 1024;                  // RoPE table length

  int64_t heads() const { return n_heads.value_or(dim / head_dim.value_or(1)); }
  int64_t kv_heads() const { return n_kv_heads.value_or(heads()); }
  int64_t head_size() const { return head_dim.value_or(dim / heads()); }
  // The reference's FeedForward width: int(2·4·dim/3), times the multiplier, rounded up to multiple_of.
  int64_t ffn_hidden() const;
  // Divisor of the output projections' init std for layer `depth` (0-based).
  double init_factor(int64_t depth) const;
  // Parameters of the stack (attention, FFN, norms), computed in double so it cannot overflow.
  double n_params() const;
  // Throws ConfigError naming the field when the sizes do not fit together or exceed the limits above.
  void validate(const std::string& where) const;
};

InitStdFactor parse_init_std_factor(const std::string& s);
// Reads a config's optional "init_std_factor" field (default "disabled").
InitStdFactor read_init_std_factor(io::JsonFields& f);
std::string to_string(InitStdFactor f);

}  // namespace blt::nn
