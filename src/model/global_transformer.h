// The latent global transformer over patches: an optional input projection
// (token_embedding_projection, when the patch width differs from dim_global),
// then transformer layers with RoPE over patch positions and a causal or
// block-causal mask (documents end at patches holding an EOS). No final norm.
// Names under "global_transformer.".
#pragma once

#include <memory>
#include <vector>

#include "model/blt_args.h"
#include "nn/linear.h"
#include "nn/transformer_block.h"

namespace blt::model {

class GlobalTransformer {
 public:
  // `args` is shared, immutable, with the model and its copies.
  GlobalTransformer(std::shared_ptr<const BltArgs> args, nn::ParamRegistry& reg);

  // h (B,P,Din), global_tokens (B·P) -> (B,P,dim_global).
  Var operator()(Graph& g, const Var& h, std::span<const int32_t> global_tokens) const;

  // Cached decoding (one row): h (1,np,Din) are the next np patches; global_tokens (P) the tokens of every
  // patch so far, the new ones last; caches (n_layers) hold the first P - np -> (1,np,dim_global).
  Var step(Graph& g, const Var& h, std::span<const int32_t> global_tokens, std::span<nn::KVCache> caches) const;
  std::vector<nn::KVCache> make_caches(int64_t capacity) const;

 private:
  // The mask of patch tokens (B,P): causal or block-causal at EOS patches -> arena span (B·P).
  std::span<ops::KeyRange> ranges(Graph& g, std::span<const int32_t> global_tokens, int64_t B, int64_t P) const;

  std::shared_ptr<const BltArgs> args_;
  std::vector<nn::TransformerBlock> layers_;
  std::optional<nn::Linear> token_proj_;
  ops::RopeTable rope_;
};

}  // namespace blt::model
