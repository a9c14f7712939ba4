// CrossAttention forward, in two halves: keys/values of the attended states, then the queries.
#include "nn/cross_attention.h"

#include <cmath>

#include "ops/elementwise.h"

namespace blt::nn {

CrossAttention::CrossAttention(ParamRegistry& reg, const std::string& prefix, int64_t dim, int64_t n_heads,
                               double norm_eps, std::optional<double> base_std, double factor)
    : n_heads_(n_heads), head_dim_(dim / n_heads) {
  // The reference: std = base_std or (dim^-1/2 / factor), truncated at ±3 std.
  const double s = base_std.value_or(1.0 / std::sqrt(static_cast<double>(dim)) / factor);
  norm_q_ = RMSNorm(reg, prefix + ".cross_attn_norm_q", dim, norm_eps);
  norm_kv_ = RMSNorm(reg, prefix + ".cross_attn_norm_kv", dim, norm_eps);
  wq_ = Linear(reg, prefix + ".wq", dim, n_heads * head_dim_, Init::trunc_normal(s));
  wk_ = Linear(reg, prefix + ".wk", dim, n_heads * head_dim_, Init::trunc_normal(s));
  wv_ = Linear(reg, prefix + ".wv", dim, n_heads * head_dim_, Init::trunc_normal(s));
  wo_ = Linear(reg, prefix + ".wo", n_heads * head_dim_, dim, Init::trunc_normal(s));
}

CrossAttention::KeysValues CrossAttention::keys_values(Graph& g, const Var& kv) const {
  const int64_t B = kv.shape()[0], Tk = kv.shape()[1];
  const Var kvn = norm_kv_(g, kv);
  const TensorView kvb = wk_.bf16_input(g, kvn);  // one bf16 rounding for k and v
  return {wk_(g, kvn, kvb).reshape(Shape{B, Tk, n_heads_, head_dim_}),
          wv_(g, kvn, kvb).reshape(Shape{B, Tk, n_heads_, head_dim_})};
}

Var CrossAttention::attend(Graph& g, const Var& x, const Var& k, const Var& v,
                           std::span<const ops::KeyRange> ranges) const {
  const int64_t B = x.shape()[0], Tq = x.shape()[1];
  const Var q = wq_(g, norm_q_(g, x)).reshape(Shape{B, Tq, n_heads_, head_dim_});
  const Var o = ops::attention(g, q, k, v, ranges, 1.0 / std::sqrt(static_cast<double>(head_dim_)));
  return ops::add(g, x, wo_(g, o.reshape(Shape{B, Tq, n_heads_ * head_dim_})));
}

}  // namespace blt::nn
