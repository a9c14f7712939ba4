// What the local encoder and decoder share (LocalModelBase in the reference):
// a stack of transformer blocks over bytes with RoPE and local block-causal
// attention, the patch_embedding_projection when the reference creates one,
// cross-attention layers, and the token_embedding_projection the reference
// creates but never uses (declared so official weights load strictly).
#pragma once

#include <optional>
#include <vector>

#include "model/blt_args.h"
#include "nn/cross_attention.h"
#include "nn/transformer_block.h"

namespace blt::model {

// Per-step context of a local stack: positions and masks, valid for the step.
struct LocalContext {
  nn::SelfAttnContext self;                    // positions (N), local block-causal ranges (B·N)
  std::span<const ops::KeyRange> cross;        // the cross-attention ranges of this stack
};

class LocalStack {
 public:
  // prefix "local_encoder" or "local_decoder"; patch_proj_in/out: the patch projection's shape, if any;
  // n_cross: cross-attention layers.
  LocalStack(nn::ParamRegistry& reg, const std::string& prefix, const nn::TransformerArgs& t, int64_t dim_token_emb,
             std::optional<std::pair<int64_t, int64_t>> patch_proj, int64_t n_cross, int64_t cross_heads);

  const std::vector<nn::TransformerBlock>& layers() const { return layers_; }
  const std::vector<nn::CrossAttention>& cross() const { return cross_; }
  const std::optional<nn::Linear>& patch_projection() const { return patch_proj_; }
  const ops::RopeTable& rope() const { return rope_; }
  int64_t dim() const { return dim_; }

 private:
  std::vector<nn::TransformerBlock> layers_;
  std::vector<nn::CrossAttention> cross_;
  std::optional<nn::Linear> patch_proj_, token_proj_;
  ops::RopeTable rope_;
  int64_t dim_ = 0;
};

}  // namespace blt::model
