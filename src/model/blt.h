// ByteLatentTransformer: bytes -> hash n-gram + byte embeddings -> local
// encoder -> patch vectors (cross attention or pooling) -> latent global
// transformer over patches -> local decoder -> logits over 260 ids.
// The forward follows bytelatent/model/blt.py (ByteLatentTransformer.forward)
// with nb_boe = 0 (dynamic patching); see PatchLayout for the patch-derived
// indices. Named activations are traced for fixture comparisons.
#pragma once

#include <span>

#include "model/global_transformer.h"
#include "model/local_decoder.h"
#include "model/local_encoder.h"

namespace blt::model {

class ByteLatentTransformer {
 public:
  // Declares every parameter under the reference state_dict names.
  ByteLatentTransformer(const BltArgs& args, nn::ParamRegistry& reg);

  // tokens (B,N) with their patch layout -> logits (B,N,V). `tokens` and `layout` must outlive backward.
  Var forward(Graph& g, std::span<const int32_t> tokens, const patching::PatchLayout& layout) const;

  const BltArgs& args() const { return args_; }

 private:
  BltArgs args_;
  const nn::ParamRegistry* reg_;
  LocalEncoder encoder_;
  GlobalTransformer global_;
  LocalDecoder decoder_;
  std::vector<nn::ParamId> hash_tables_;
};

}  // namespace blt::model
