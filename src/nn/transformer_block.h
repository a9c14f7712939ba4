// Pre-norm transformer block: h = x + attention(attention_norm(x));
// out = h + feed_forward(ffn_norm(h)). Names under "<prefix>." as the reference.
#pragma once

#include <span>
#include <vector>

#include "nn/attention.h"
#include "nn/feed_forward.h"
#include "nn/rms_norm.h"
#include "nn/transformer_args.h"

namespace blt::nn {

class TransformerBlock {
 public:
  TransformerBlock() = default;
  TransformerBlock(ParamRegistry& reg, const std::string& prefix, const TransformerArgs& args, int64_t depth);

  // x (B,T,dim) -> (B,T,dim)
  Var operator()(Graph& g, const Var& x, const SelfAttnContext& ctx) const;
  // Cached decoding: x (1,T,dim), the attention's keys/values appended to `cache` (see Attention::step).
  Var step(Graph& g, const Var& x, const SelfAttnContext& ctx, KVCache& cache) const;

  const Attention& attention() const { return attention_; }

 private:
  // h = x + attn; out = h + ffn(ffn_norm(h)), where attn = attention(attention_norm(x)) computed by `attn`.
  template <class AttnFn>
  Var apply(Graph& g, const Var& x, AttnFn&& attn) const;

  RMSNorm attention_norm_, ffn_norm_;
  Attention attention_;
  FeedForward feed_forward_;
};

// One KVCache per block, each for `capacity` positions of its attention's KV heads.
std::vector<KVCache> make_kv_caches(std::span<const TransformerBlock> blocks, int64_t capacity);

}  // namespace blt::nn
