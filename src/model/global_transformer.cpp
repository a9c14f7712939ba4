// GlobalTransformer construction (reference init), forward and cached step.
#include "model/global_transformer.h"

#include <cmath>

#include "core/layer_carry.h"
#include "ops/mask.h"

namespace blt::model {

GlobalTransformer::GlobalTransformer(std::shared_ptr<const BltArgs> args, nn::ParamRegistry& reg)
    : args_(std::move(args)), rope_(args_->rope_theta, args_->global_args().head_size(), args_->max_seqlen) {
  const nn::TransformerArgs t = args_->global_args();
  for (int64_t l = 0; l < t.n_layers; ++l)
    layers_.emplace_back(reg, "global_transformer.layers." + std::to_string(l), t, l);
  const int64_t din = args_->global_dim_patch_emb();
  if (din != args_->dim_global)
    token_proj_ = nn::Linear(reg, "global_transformer.token_embedding_projection", din, args_->dim_global,
                             nn::Init::trunc_normal(1.0 / std::sqrt(static_cast<double>(din))));
}

Var GlobalTransformer::operator()(Graph& g, const Var& h_in, std::span<const int32_t> global_tokens) const {
  const int64_t B = h_in.shape()[0], P = h_in.shape()[1];
  if (P > args_->max_seqlen)
    throw ShapeError("[global_transformer] " + std::to_string(P) + " patches exceed max_seqlen " +
                     std::to_string(args_->max_seqlen));
  auto* pos = static_cast<int32_t*>(g.arena().alloc(sizeof(int32_t) * P));
  for (int64_t p = 0; p < P; ++p) pos[p] = static_cast<int32_t>(p);
  const nn::SelfAttnContext ctx{&rope_, {pos, static_cast<size_t>(P)}, ranges(g, global_tokens, B, P)};
  Var h = h_in;
  if (token_proj_ && h.shape().last() != args_->dim_global) h = (*token_proj_)(g, h);
  LayerCarry carry(g, {h.shape()}, h.dtype());
  for (size_t l = 0; l < layers_.size(); ++l) {
    h = layers_[l](g, h, ctx);
    g.trace(LayerName("global_transformer", static_cast<int64_t>(l), "out"), h.value);
    h = carry.keep(h);
  }
  return h;
}

std::span<ops::KeyRange> GlobalTransformer::ranges(Graph& g, std::span<const int32_t> global_tokens, int64_t B,
                                                  int64_t P) const {
  const std::span<ops::KeyRange> r{static_cast<ops::KeyRange*>(g.arena().alloc(sizeof(ops::KeyRange) * B * P)),
                                   static_cast<size_t>(B * P)};
  if (args_->attn_bias_type == "block_causal")
    ops::block_causal_ranges(global_tokens, B, P, args_->eos_id, std::nullopt, r);
  else
    ops::causal_ranges(B, P, std::nullopt, r);
  return r;
}

Var GlobalTransformer::step(Graph& g, const Var& h_in, std::span<const int32_t> global_tokens,
                            std::span<nn::KVCache> caches) const {
  const int64_t np = h_in.shape()[1], P = static_cast<int64_t>(global_tokens.size()), p0 = P - np;
  if (P > args_->max_seqlen)
    throw ShapeError("[global_transformer] " + std::to_string(P) + " patches exceed max_seqlen " +
                     std::to_string(args_->max_seqlen));
  auto* pos = static_cast<int32_t*>(g.arena().alloc(sizeof(int32_t) * np));
  for (int64_t p = 0; p < np; ++p) pos[p] = static_cast<int32_t>(p0 + p);
  const nn::SelfAttnContext ctx{&rope_, {pos, static_cast<size_t>(np)},
                                ranges(g, global_tokens, 1, P).subspan(static_cast<size_t>(p0))};
  Var h = h_in;
  if (token_proj_ && h.shape().last() != args_->dim_global) h = (*token_proj_)(g, h);
  for (size_t l = 0; l < layers_.size(); ++l) h = layers_[l].step(g, h, ctx, caches[l]);
  return h;
}

std::vector<nn::KVCache> GlobalTransformer::make_caches(int64_t capacity) const {
  return nn::make_kv_caches(layers_, capacity);
}

}  // namespace blt::model
