// CrossAttention forward.
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

Var CrossAttention::operator()(Graph& g, const Var& x, const Var& kv, std::span<const ops::KeyRange> ranges) const {
  const int64_t B = x.shape()[0], Tq = x.shape()[1], Tk = kv.shape()[1];
  const Var xn = norm_q_(g, x), kvn = norm_kv_(g, kv);
  const Var q = wq_(g, xn).reshape(Shape{B, Tq, n_heads_, head_dim_});
  const Var k = wk_(g, kvn).reshape(Shape{B, Tk, n_heads_, head_dim_});
  const Var v = wv_(g, kvn).reshape(Shape{B, Tk, n_heads_, head_dim_});
  const Var o = ops::attention(g, q, k, v, ranges, 1.0 / std::sqrt(static_cast<double>(head_dim_)));
  return ops::add(g, x, wo_(g, o.reshape(Shape{B, Tq, n_heads_ * head_dim_})));
}

}  // namespace blt::nn
