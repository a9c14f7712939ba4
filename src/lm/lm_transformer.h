// LMTransformer: the reference's byte-level causal LM, used as the entropy
// model: tok_embeddings -> n_layers × TransformerBlock -> norm -> output (260).
// Parameter names equal the reference state_dict keys ("tok_embeddings.weight",
// "layers.0.attention.wq.weight", ..., "norm.weight", "output.weight").
#pragma once

#include <span>
#include <vector>

#include "lm/lm_args.h"
#include "nn/linear.h"
#include "nn/rms_norm.h"
#include "nn/transformer_block.h"
#include "ops/rope.h"

namespace blt::lm {

class LMTransformer {
 public:
  // Declares the parameters in `reg` (which the caller then allocates and fills).
  LMTransformer(const LMTransformerArgs& args, nn::ParamRegistry& reg);

  // tokens (B,T) -> logits (B,T,V). T <= max_seqlen.
  Var forward(Graph& g, std::span<const int32_t> tokens, int64_t B, int64_t T) const;

  // Cached decoding (inference, one row): context (T) holds every token of the current context window
  // (positions 0..T-1), of which the last n_new are new; caches (n_layers) hold the keys/values of the
  // first T - n_new. Appends the new positions' keys/values -> logits (1,n_new,V).
  Var step(Graph& g, std::span<const int32_t> context, int64_t n_new, std::span<nn::KVCache> caches) const;
  // One KVCache per layer for contexts of up to `capacity` tokens.
  std::vector<nn::KVCache> make_caches(int64_t capacity) const;

  // The attention mask of this model for tokens (B,T), per query: out (B·T).
  void key_ranges(std::span<const int32_t> tokens, int64_t B, int64_t T, std::span<ops::KeyRange> out) const;

  const LMTransformerArgs& args() const { return args_; }
  const nn::ParamRegistry& params() const { return *reg_; }

 private:
  LMTransformerArgs args_;
  const nn::ParamRegistry* reg_;
  nn::ParamId tok_embeddings_;
  std::vector<nn::TransformerBlock> layers_;
  nn::RMSNorm norm_;
  nn::Linear output_;
  ops::RopeTable rope_;
};

}  // namespace blt::lm
