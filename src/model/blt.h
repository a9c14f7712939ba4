// ByteLatentTransformer: bytes -> hash n-gram + byte embeddings -> local
// encoder -> patch vectors (cross attention or pooling) -> latent global
// transformer over patches -> local decoder -> logits over 260 ids.
// The forward follows bytelatent/model/blt.py (ByteLatentTransformer.forward)
// with nb_boe = 0 (dynamic patching); see PatchLayout for the patch-derived
// indices. Named activations are traced for fixture comparisons.
#pragma once

#include <memory>
#include <span>

#include "model/global_transformer.h"
#include "model/local_decoder.h"
#include "model/local_encoder.h"

namespace blt::model {

class ByteLatentTransformer {
 public:
  // Declares every parameter under the reference state_dict names.
  ByteLatentTransformer(const BltArgs& args, nn::ParamRegistry& reg);

  // tokens (B,N) with their patch layout -> logits (B,N,V).
  Var forward(Graph& g, std::span<const int32_t> tokens, const patching::PatchLayout& layout) const;

  // The local encoder's input embeddings of the last n_new tokens of one row's context (T): byte table +
  // every hash n-gram table, each n-gram reaching back into the context -> (1,n_new,D_loc).
  Var embed_last(Graph& g, std::span<const int32_t> context, int64_t n_new) const;

  const BltArgs& args() const { return *args_; }
  const LocalEncoder& encoder() const { return encoder_; }
  const GlobalTransformer& global() const { return global_; }
  const LocalDecoder& decoder() const { return decoder_; }

 private:
  // Shared, immutable, with the submodules and with copies of the model, so no copy can dangle. The
  // parameters stay in the registry, which must outlive the model and its copies.
  std::shared_ptr<const BltArgs> args_;
  const nn::ParamRegistry* reg_;
  LocalEncoder encoder_;
  GlobalTransformer global_;
  LocalDecoder decoder_;
  // tokens (B,N) -> embeddings (B,N,D_loc), one fused lookup-sum over the byte and hash tables; keep the
  // last `keep` positions of each row only (keep <= N).
  Var embed(Graph& g, std::span<const int32_t> tokens, int64_t B, int64_t N, int64_t keep) const;

  std::vector<nn::ParamId> hash_tables_;
};

}  // namespace blt::model
