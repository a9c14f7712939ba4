// LocalDecoder forward.
#include "model/local_decoder.h"

#include <cmath>

#include "ops/elementwise.h"
#include "ops/gather.h"

namespace blt::model {

namespace {
std::optional<std::pair<int64_t, int64_t>> decoder_patch_projection(const BltArgs& a) {
  if (a.dim_global == a.dim_local_decoder) return std::nullopt;
  return std::pair{a.dim_global, a.decoder_dim_token_emb() * (a.cross_attn_decoder ? a.k() : 1)};
}
}  // namespace

LocalDecoder::LocalDecoder(const BltArgs& a, nn::ParamRegistry& reg)
    : args_(a),
      stack_(reg, "local_decoder", a.decoder_args(), a.decoder_dim_token_emb(), decoder_patch_projection(a),
             a.cross_attn_decoder ? (a.cross_attn_all_layers_decoder ? a.n_layers_local_decoder : 1) : 0,
             a.cross_attn_nheads.value_or(1)),
      norm_(reg, "local_decoder.norm", a.dim_local_decoder, a.norm_eps),
      output_(reg, "local_decoder.output", a.dim_local_decoder, a.vocab_size,
              nn::Init::trunc_normal(1.0 / std::sqrt(static_cast<double>(a.dim_local_decoder)))) {}

Var LocalDecoder::operator()(Graph& g, const Var& embeds, const Var& h_global, const patching::PatchLayout& layout,
                             const LocalContext& ctx) const {
  const int64_t B = layout.B, N = layout.N, P = layout.P, D = stack_.dim();
  Var patch_embeds = h_global;
  if (!args_.cross_attn_decoder) patch_embeds = ops::gather_rows(g, h_global, layout.decoder_patch_ids, N);
  if (stack_.patch_projection()) {
    patch_embeds = (*stack_.patch_projection())(g, patch_embeds);
    if (args_.cross_attn_decoder) patch_embeds = patch_embeds.reshape(Shape{B, P * args_.k(), D});
  }
  g.trace("decoder_patch_embeds", patch_embeds.value);
  Var h = args_.cross_attn_decoder ? embeds : ops::add(g, embeds, patch_embeds);
  const auto& layers = stack_.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (args_.cross_attn_decoder && (i == 0 || args_.cross_attn_all_layers_decoder)) {
      FlopScope scope(g.flops(), "decoder_cross_attn");
      h = ops::add(g, h, stack_.cross()[i](g, h, patch_embeds, ctx.cross));  // 2·h + attention, as the reference
    }
    h = layers[i](g, h, ctx.self);
  }
  return output_(g, norm_(g, h));
}

}  // namespace blt::model
