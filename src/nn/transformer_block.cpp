// TransformerBlock construction (reference init), forward and cached step.
#include "nn/transformer_block.h"

#include "ops/elementwise.h"

namespace blt::nn {

TransformerBlock::TransformerBlock(ParamRegistry& reg, const std::string& prefix, const TransformerArgs& args,
                                   int64_t depth) {
  const double factor = args.init_factor(depth);
  attention_ = Attention(reg, prefix + ".attention", args.dim, args.head_size(), args.heads(), args.kv_heads(),
                         args.init_base_std, factor);
  feed_forward_ = FeedForward(reg, prefix + ".feed_forward", args.dim, args.ffn_hidden(), args.init_base_std, factor);
  attention_norm_ = RMSNorm(reg, prefix + ".attention_norm", args.dim, args.norm_eps);
  ffn_norm_ = RMSNorm(reg, prefix + ".ffn_norm", args.dim, args.norm_eps);
}

// Each norm writes its output's bf16 rounding where the linears after it take bf16 inputs.
template <class AttnFn>
Var TransformerBlock::apply(Graph& g, const Var& x, AttnFn&& attn) const {
  const TensorView xb = attention_.wq().bf16_input_buffer(g, x.shape(), x.dtype());
  Var h = ops::add(g, x, attn(attention_norm_(g, x, xb), xb));
  const TensorView hb = feed_forward_.w1().bf16_input_buffer(g, h.shape(), h.dtype());
  return ops::add(g, h, feed_forward_(g, ffn_norm_(g, h, hb), hb));
}

Var TransformerBlock::operator()(Graph& g, const Var& x, const SelfAttnContext& ctx) const {
  return apply(g, x, [&](const Var& xn, const TensorView& xb) { return attention_(g, xn, ctx, xb); });
}

Var TransformerBlock::step(Graph& g, const Var& x, const SelfAttnContext& ctx, KVCache& cache) const {
  return apply(g, x,
               [&](const Var& xn, const TensorView& xb) { return attention_.step(g, xn, ctx, cache, xb); });
}

std::vector<KVCache> make_kv_caches(std::span<const TransformerBlock> blocks, int64_t capacity) {
  std::vector<KVCache> c;
  for (const auto& b : blocks) c.emplace_back(capacity, b.attention().n_kv_heads(), b.attention().head_dim());
  return c;
}

}  // namespace blt::nn
