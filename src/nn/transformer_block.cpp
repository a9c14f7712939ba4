// TransformerBlock construction (reference init) and forward.
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

Var TransformerBlock::operator()(Graph& g, const Var& x, const SelfAttnContext& ctx) const {
  Var h = ops::add(g, x, attention_(g, attention_norm_(g, x), ctx));
  return ops::add(g, h, feed_forward_(g, ffn_norm_(g, h)));
}

}  // namespace blt::nn
