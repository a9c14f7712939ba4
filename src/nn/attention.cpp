// Self-attention forward and cached step: project, split heads, rotate q/k,
// (append k/v to the cache,) attend, merge, project.
#include "nn/attention.h"

#include <cmath>

namespace blt::nn {

Attention::Attention(ParamRegistry& reg, const std::string& prefix, int64_t dim, int64_t head_dim, int64_t n_heads,
                     int64_t n_kv_heads, std::optional<double> base_std, double factor)
    : head_dim_(head_dim), n_heads_(n_heads), n_kv_heads_(n_kv_heads) {
  const double s = base_std.value_or(1.0 / std::sqrt(static_cast<double>(dim)));
  wq_ = Linear(reg, prefix + ".wq", dim, n_heads * head_dim, Init::trunc_normal(s));
  wk_ = Linear(reg, prefix + ".wk", dim, n_kv_heads * head_dim, Init::trunc_normal(s));
  wv_ = Linear(reg, prefix + ".wv", dim, n_kv_heads * head_dim, Init::trunc_normal(s));
  wo_ = Linear(reg, prefix + ".wo", n_heads * head_dim, dim, Init::trunc_normal(s / factor, 3 * s));
}

Var Attention::operator()(Graph& g, const Var& x, const SelfAttnContext& ctx,
                          const TensorView& x_bf16) const {
  return attend(g, x, ctx, nullptr, x_bf16);
}

Var Attention::step(Graph& g, const Var& x, const SelfAttnContext& ctx, KVCache& cache,
                    const TensorView& x_bf16) const {
  if (x.shape()[0] != 1) throw ShapeError("[attention] cached steps take one row, got " + x.shape().str());
  return attend(g, x, ctx, &cache, x_bf16);
}

Var Attention::attend(Graph& g, const Var& x, const SelfAttnContext& ctx, KVCache* cache,
                      const TensorView& x_bf16) const {
  const int64_t B = x.shape()[0], T = x.shape()[1];
  const TensorView xb = x_bf16.defined() ? x_bf16 : wq_.bf16_input(g, x);  // one rounding for q, k and v
  Var q = wq_(g, x, xb).reshape(Shape{B, T, n_heads_, head_dim_});
  Var k = wk_(g, x, xb).reshape(Shape{B, T, n_kv_heads_, head_dim_});
  Var v = wv_(g, x, xb).reshape(Shape{B, T, n_kv_heads_, head_dim_});
  q = ops::rope(g, q, *ctx.rope, ctx.positions);
  k = ops::rope(g, k, *ctx.rope, ctx.positions);
  if (cache) {
    cache->append(k.value, v.value);
    k = cache->keys();
    v = cache->values();
  }
  Var o = ops::attention(g, q, k, v, ctx.ranges, 1.0 / std::sqrt(static_cast<double>(head_dim_)));
  return wo_(g, o.reshape(Shape{B, T, n_heads_ * head_dim_}));
}

}  // namespace blt::nn
