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

template <class AttnFn>
Var TransformerBlock::apply(Graph& g, const Var& x, AttnFn&& attn) const {
  Var h = ops::add(g, x, attn(attention_norm_(g, x)));
  return ops::add(g, h, feed_forward_(g, ffn_norm_(g, h)));
}

Var TransformerBlock::operator()(Graph& g, const Var& x, const SelfAttnContext& ctx) const {
  return apply(g, x, [&](const Var& xn) { return attention_(g, xn, ctx); });
}

Var TransformerBlock::step(Graph& g, const Var& x, const SelfAttnContext& ctx, KVCache& cache) const {
  return apply(g, x, [&](const Var& xn) { return attention_.step(g, xn, ctx, cache); });
}

std::vector<KVCache> make_kv_caches(std::span<const TransformerBlock> blocks, int64_t capacity) {
  std::vector<KVCache> c;
  for (const auto& b : blocks) c.emplace_back(capacity, b.attention().n_kv_heads(), b.attention().head_dim());
  return c;
}

}  // namespace blt::nn
