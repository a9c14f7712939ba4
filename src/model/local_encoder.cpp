// LocalEncoder forward: layers, then pooling-initialised cross attention.
#include "model/local_encoder.h"

#include <cmath>

#include "ops/elementwise.h"
#include "ops/segment_pool.h"

namespace blt::model {

namespace {
std::optional<std::pair<int64_t, int64_t>> encoder_patch_projection(const BltArgs& a) {
  if (!a.cross_attn_encoder) return std::nullopt;
  return std::pair{a.dim_local_encoder, a.encoder_dim_token_emb() * a.k()};
}
}  // namespace

LocalEncoder::LocalEncoder(const BltArgs& a, nn::ParamRegistry& reg)
    : args_(a),
      reg_(&reg),
      stack_(reg, "local_encoder", a.encoder_args(), a.encoder_dim_token_emb(), encoder_patch_projection(a),
             a.cross_attn_encoder ? (a.cross_attn_all_layers_encoder ? a.n_layers_local_encoder : 1) : 0,
             a.cross_attn_nheads.value_or(1)) {
  tok_embeddings_ = reg.declare("local_encoder.tok_embeddings.weight", Shape{a.vocab_size, a.dim_local_encoder},
                                nn::Init::trunc_normal(1.0 / std::sqrt(static_cast<double>(a.dim_local_encoder))));
}

LocalEncoder::Output LocalEncoder::operator()(Graph& g, const Var& embeds, const patching::PatchLayout& layout,
                                             const LocalContext& ctx) const {
  const int64_t B = layout.B, P = layout.P, D = stack_.dim(), n = static_cast<int64_t>(stack_.layers().size());
  Output out;
  Var h = embeds;
  for (int64_t i = 0; i < n; ++i) {
    h = stack_.layers()[i](g, h, ctx.self);
    if (!args_.cross_attn_encoder || !(i == n - 1 || args_.cross_attn_all_layers_encoder)) continue;
    FlopScope scope(g.flops(), "encoder_cross_attn");
    if (!out.patch_embeds.value.defined()) {
      // Patch queries, once: pool each patch's bytes, project to k slots of width D.
      const Var pooled = ops::segment_pool(g, h, layout.offsets, P, args_.pool_modes().front());
      out.patch_embeds = (*stack_.patch_projection())(g, pooled).reshape(Shape{B, P * args_.k(), D});
    }
    const auto& cross = stack_.cross()[args_.cross_attn_all_layers_encoder ? i : 0];
    // The reference adds the cross output (itself x + attention) to x: 2·x + attention.
    out.patch_embeds = ops::add(g, out.patch_embeds, cross(g, out.patch_embeds, h, ctx.cross));
  }
  out.h = h;
  return out;
}

}  // namespace blt::model
