// GlobalTransformer construction (reference init) and forward.
#include "model/global_transformer.h"

#include <cmath>

#include "ops/mask.h"

namespace blt::model {

GlobalTransformer::GlobalTransformer(const BltArgs& a, nn::ParamRegistry& reg)
    : args_(a), rope_(a.rope_theta, a.global_args().head_size(), a.max_seqlen) {
  const nn::TransformerArgs t = a.global_args();
  for (int64_t l = 0; l < t.n_layers; ++l)
    layers_.emplace_back(reg, "global_transformer.layers." + std::to_string(l), t, l);
  const int64_t din = a.global_dim_patch_emb();
  if (din != a.dim_global)
    token_proj_ = nn::Linear(reg, "global_transformer.token_embedding_projection", din, a.dim_global,
                             nn::Init::trunc_normal(1.0 / std::sqrt(static_cast<double>(din))));
}

Var GlobalTransformer::operator()(Graph& g, const Var& h_in, std::span<const int32_t> global_tokens) const {
  const int64_t B = h_in.shape()[0], P = h_in.shape()[1];
  if (P > args_.max_seqlen)
    throw ShapeError("[global_transformer] " + std::to_string(P) + " patches exceed max_seqlen " +
                     std::to_string(args_.max_seqlen));
  auto* pos = static_cast<int32_t*>(g.arena().alloc(sizeof(int32_t) * P));
  for (int64_t p = 0; p < P; ++p) pos[p] = static_cast<int32_t>(p);
  const std::span<ops::KeyRange> ranges{static_cast<ops::KeyRange*>(g.arena().alloc(sizeof(ops::KeyRange) * B * P)),
                                        static_cast<size_t>(B * P)};
  if (args_.attn_bias_type == "block_causal")
    ops::block_causal_ranges(global_tokens, B, P, args_.eos_id, std::nullopt, ranges);
  else
    ops::causal_ranges(B, P, std::nullopt, ranges);
  const nn::SelfAttnContext ctx{&rope_, {pos, static_cast<size_t>(P)}, ranges};
  Var h = h_in;
  if (token_proj_ && h.shape().last() != args_.dim_global) h = (*token_proj_)(g, h);
  for (const auto& layer : layers_) h = layer(g, h, ctx);
  return h;
}

}  // namespace blt::model
