// The local decoder: starts from the encoder's byte states; the global
// patch states are projected (to cross_attn_k slots per patch with cross
// attention) and either read through cross attention before the first (or
// every) layer, each byte seeing the slots of its decoder patch, or gathered
// per byte and added. Then local layers, the final norm and the 260-way
// output. Names under "local_decoder.".
#pragma once

#include <memory>

#include "model/local_stack.h"
#include "patching/patch_layout.h"
#include "nn/rms_norm.h"

namespace blt::model {

class LocalDecoder {
 public:
  // `args` is shared, immutable, with the model and its copies.
  LocalDecoder(std::shared_ptr<const BltArgs> args, nn::ParamRegistry& reg);

  // embeds (B,N,D), h_global (B,P,dim_global) -> logits (B,N,V)
  Var operator()(Graph& g, const Var& embeds, const Var& h_global, const patching::PatchLayout& layout,
                 const LocalContext& ctx) const;

  // Cached decoding (one row), in two halves.
  // What the decoder keeps of each closed patch: with cross attention, every cross layer's keys and values
  // of the patch's k slots (cross caches, k rows per patch); without, the projected patch state (one row of
  // `patch_rows` per patch).
  struct PatchCache {
    std::vector<nn::KVCache> cross;  // per cross layer, capacity P_max·k
    Tensor patch_rows;               // (P_max, D) without cross attention
    int64_t n = 0;                   // patches added
  };
  PatchCache make_patch_cache(int64_t max_patches) const;
  // h_global (1,np,dim_global): the global states of the next np closed patches -> into `pc`.
  void add_patches(Graph& g, const Var& h_global, PatchCache& pc) const;
  // embeds (1,T,D) of the next T bytes, dec_ids (T) the decoder patch of each (< pc.n), self: positions and
  // key ranges over cache rows; appends each layer's keys/values to caches[l] -> logits (1,T,V).
  Var step(Graph& g, const Var& embeds, std::span<const int32_t> dec_ids, const nn::SelfAttnContext& self,
           std::span<nn::KVCache> caches, const PatchCache& pc) const;
  std::vector<nn::KVCache> make_caches(int64_t capacity) const;

  const LocalStack& stack() const { return stack_; }

 private:
  // h_global (B,P,dim_global) -> the decoder's patch states: projected, and (B,P·k,D) with cross attention.
  Var project_patches(Graph& g, const Var& h_global) const;

  std::shared_ptr<const BltArgs> args_;
  LocalStack stack_;
  nn::RMSNorm norm_;
  nn::Linear output_;
};

}  // namespace blt::model
