// LocalStack construction with the reference's init (LocalModelBase.init_weights).
#include "model/local_stack.h"

#include <cmath>

namespace blt::model {

LocalStack::LocalStack(nn::ParamRegistry& reg, const std::string& prefix, const nn::TransformerArgs& t,
                       int64_t dim_token_emb, std::optional<std::pair<int64_t, int64_t>> patch_proj, int64_t n_cross,
                       int64_t cross_heads)
    : rope_(t.rope_theta, t.head_size(), t.max_seqlen), dim_(t.dim) {
  for (int64_t l = 0; l < t.n_layers; ++l) layers_.emplace_back(reg, prefix + ".layers." + std::to_string(l), t, l);
  const double std = 1.0 / std::sqrt(static_cast<double>(t.dim));
  if (dim_token_emb != t.dim)
    token_proj_ = nn::Linear(reg, prefix + ".token_embedding_projection", dim_token_emb, t.dim, nn::Init::trunc_normal(std));
  if (patch_proj) {
    const auto [in, out] = *patch_proj;
    patch_proj_ = nn::Linear(reg, prefix + ".patch_embedding_projection", in, out,
                             nn::Init::trunc_normal(1.0 / std::sqrt(static_cast<double>(in))));
  }
  for (int64_t l = 0; l < n_cross; ++l) {
    // The cross layers' depth factor counts their own index (GLOBAL_DEPTH: the number of blocks).
    cross_.emplace_back(reg, prefix + ".cross_attn_layers." + std::to_string(l), t.dim, cross_heads, t.norm_eps,
                        std::nullopt, t.init_factor(l));
  }
}

}  // namespace blt::model
