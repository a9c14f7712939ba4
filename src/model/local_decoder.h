// The local decoder: starts from the encoder's byte states; the global
// patch states are projected (to cross_attn_k slots per patch with cross
// attention) and either read through cross attention before the first (or
// every) layer, each byte seeing the slots of its decoder patch, or gathered
// per byte and added. Then local layers, the final norm and the 260-way
// output. Names under "local_decoder.".
#pragma once

#include "model/local_stack.h"
#include "patching/patch_layout.h"
#include "nn/rms_norm.h"

namespace blt::model {

class LocalDecoder {
 public:
  LocalDecoder(const BltArgs& a, nn::ParamRegistry& reg);

  // embeds (B,N,D), h_global (B,P,dim_global) -> logits (B,N,V)
  Var operator()(Graph& g, const Var& embeds, const Var& h_global, const patching::PatchLayout& layout,
                 const LocalContext& ctx) const;

  const LocalStack& stack() const { return stack_; }

 private:
  const BltArgs& args_;
  LocalStack stack_;
  nn::RMSNorm norm_;
  nn::Linear output_;
};

}  // namespace blt::model
