// The local encoder: byte embeddings (token + hash n-gram, summed by the
// caller) through local transformer layers; with cross attention, patch
// queries start from pooling each patch's byte states, are projected to
// cross_attn_k slots per patch, and attend to their own bytes after the last
// layer (or after every layer). Names under "local_encoder.".
#pragma once

#include "model/local_stack.h"
#include "patching/patch_layout.h"

namespace blt::model {

class LocalEncoder {
 public:
  LocalEncoder(const BltArgs& a, nn::ParamRegistry& reg);

  struct Output {
    Var h;             // (B,N,D) byte states after the last layer
    Var patch_embeds;  // (B,P·k,D) with cross attention, else undefined
  };
  // embeds (B,N,D) -> Output; segment offsets from `layout`, ranges in `ctx`.
  Output operator()(Graph& g, const Var& embeds, const patching::PatchLayout& layout, const LocalContext& ctx) const;

  Var tok_embeddings() const { return reg_->var(tok_embeddings_); }
  const LocalStack& stack() const { return stack_; }

 private:
  const BltArgs& args_;
  const nn::ParamRegistry* reg_;
  LocalStack stack_;
  nn::ParamId tok_embeddings_;
};

}  // namespace blt::model
