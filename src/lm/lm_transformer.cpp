// LMTransformer construction (reference init std), forward and cached step.
#include "lm/lm_transformer.h"

#include <cmath>

#include "core/layer_carry.h"
#include "ops/embedding.h"
#include "ops/mask.h"

namespace blt::lm {

LMTransformer::LMTransformer(const LMTransformerArgs& args, nn::ParamRegistry& reg)
    : args_(args), reg_(&reg), rope_(args.rope_theta, args.head_size(), args.max_seqlen) {
  const double std = 1.0 / std::sqrt(static_cast<double>(args.dim));
  tok_embeddings_ = reg.declare("tok_embeddings.weight", Shape{args.vocab_size, args.dim}, nn::Init::trunc_normal(std));
  for (int64_t l = 0; l < args.n_layers; ++l)
    layers_.emplace_back(reg, "layers." + std::to_string(l), args, l);
  norm_ = nn::RMSNorm(reg, "norm", args.dim, args.norm_eps);
  output_ = nn::Linear(reg, "output", args.dim, args.vocab_size, nn::Init::trunc_normal(std));
}

void LMTransformer::key_ranges(std::span<const int32_t> tokens, int64_t B, int64_t T,
                               std::span<ops::KeyRange> out) const {
  switch (args_.attn_bias_type) {
    case AttnBias::Causal: return ops::causal_ranges(B, T, args_.sliding_window, out);
    case AttnBias::BlockCausal: return ops::block_causal_ranges(tokens, B, T, args_.eos_id, std::nullopt, out);
    case AttnBias::LocalBlockCausal: break;
  }
  ops::block_causal_ranges(tokens, B, T, args_.eos_id, args_.sliding_window, out);
}

Var LMTransformer::forward(Graph& g, std::span<const int32_t> tokens, int64_t B, int64_t T) const {
  if (T > args_.max_seqlen)
    throw ShapeError("[lm_transformer] sequence of " + std::to_string(T) + " tokens exceeds max_seqlen " +
                     std::to_string(args_.max_seqlen));
  // Positions and masks live in the step arena: a warm step allocates nothing.
  auto* pos = static_cast<int32_t*>(g.arena().alloc(sizeof(int32_t) * T));
  for (int64_t t = 0; t < T; ++t) pos[t] = static_cast<int32_t>(t);
  const std::span<ops::KeyRange> ranges{static_cast<ops::KeyRange*>(g.arena().alloc(sizeof(ops::KeyRange) * B * T)),
                                        static_cast<size_t>(B * T)};
  key_ranges(tokens, B, T, ranges);
  const nn::SelfAttnContext ctx{&rope_, {pos, static_cast<size_t>(T)}, ranges};

  Var h = ops::embedding(g, reg_->var(tok_embeddings_), tokens, Shape{B, T});
  LayerCarry carry(g, {h.shape()}, h.dtype());
  for (const auto& layer : layers_) h = carry.keep(layer(g, h, ctx));
  return output_(g, norm_(g, h));
}

Var LMTransformer::step(Graph& g, std::span<const int32_t> context, int64_t n_new,
                        std::span<nn::KVCache> caches) const {
  const int64_t T = static_cast<int64_t>(context.size()), t0 = T - n_new;
  if (n_new <= 0 || t0 < 0 || T > args_.max_seqlen || caches.size() != layers_.size())
    throw ShapeError("[lm_transformer] step of " + std::to_string(n_new) + " tokens in a context of " +
                     std::to_string(T) + " (max_seqlen " + std::to_string(args_.max_seqlen) + ", " +
                     std::to_string(caches.size()) + " caches for " + std::to_string(layers_.size()) + " layers)");
  auto* pos = static_cast<int32_t*>(g.arena().alloc(sizeof(int32_t) * n_new));
  for (int64_t t = 0; t < n_new; ++t) pos[t] = static_cast<int32_t>(t0 + t);
  // The mask of the whole context, of which the new queries' rows are kept (integer work, O(T)).
  auto* all = static_cast<ops::KeyRange*>(g.arena().alloc(sizeof(ops::KeyRange) * T));
  key_ranges(context, 1, T, {all, static_cast<size_t>(T)});
  const nn::SelfAttnContext ctx{&rope_, {pos, static_cast<size_t>(n_new)}, {all + t0, static_cast<size_t>(n_new)}};

  Var h = ops::embedding(g, reg_->var(tok_embeddings_), context.subspan(t0), Shape{1, n_new});
  for (size_t l = 0; l < layers_.size(); ++l) h = layers_[l].step(g, h, ctx, caches[l]);
  return output_(g, norm_(g, h));
}

std::vector<nn::KVCache> LMTransformer::make_caches(int64_t capacity) const {
  return nn::make_kv_caches(layers_, capacity);
}

}  // namespace blt::lm
