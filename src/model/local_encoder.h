// The local encoder: byte embeddings (token + hash n-gram, summed by the
// caller) through local transformer layers; with cross attention, patch
// queries start from pooling each patch's byte states, are projected to
// cross_attn_k slots per patch, and attend to their own bytes after the last
// layer (or after every layer). Names under "local_encoder.".
#pragma once

#include <memory>

#include "model/local_stack.h"
#include "patching/patch_layout.h"

namespace blt::model {

class LocalEncoder {
 public:
  // `args` is shared, immutable, with the model and its copies.
  LocalEncoder(std::shared_ptr<const BltArgs> args, nn::ParamRegistry& reg);

  struct Output {
    Var h;             // (B,N,D) byte states after the last layer
    Var patch_embeds;  // (B,P·k,D) with cross attention, else undefined
  };
  // embeds (B,N,D) -> Output; segment offsets from `layout`, ranges in `ctx`.
  Output operator()(Graph& g, const Var& embeds, const patching::PatchLayout& layout, const LocalContext& ctx) const;

  // Cached decoding (one row). embeds (1,T,D) of the next T bytes, self: their positions and key ranges
  // over cache rows. Appends every layer's keys/values to caches[l] and its output to layer_states[l]
  // (capacity, D) at the rows of the new bytes -> h (1,T,D) after the last layer.
  Var step(Graph& g, const Var& embeds, const nn::SelfAttnContext& self, std::span<nn::KVCache> caches,
           std::span<Tensor> layer_states) const;
  // The global model's input for patches [p0, p1) of one row whose bytes are all in layer_states.
  // starts (>= p1+1 entries): patch p holds bytes starts[p] .. starts[p+1]-1. With cross attention: pooled,
  // projected to k slots and run through the cross-attention layers over their own bytes (and those of
  // the w-1 patches before, as the forward) -> (1, np, k·D); without: the last layer's states pooled with
  // every pool mode, concatenated -> (1, np, modes·D).
  Var patch_vectors(Graph& g, std::span<const Tensor> layer_states, std::span<const int32_t> starts, int64_t p0,
                   int64_t p1) const;
  // One KVCache and one state buffer (capacity, D) per layer.
  std::vector<nn::KVCache> make_caches(int64_t capacity) const;
  std::vector<Tensor> make_layer_states(int64_t capacity) const;

  Var tok_embeddings() const { return reg_->var(tok_embeddings_); }
  const LocalStack& stack() const { return stack_; }

 private:
  std::shared_ptr<const BltArgs> args_;
  std::vector<ops::PoolMode> pool_modes_;  // args_.pool_modes(), parsed once
  const nn::ParamRegistry* reg_;
  LocalStack stack_;
  nn::ParamId tok_embeddings_;
};

}  // namespace blt::model
