// LocalDecoder forward and cached step.
#include "model/local_decoder.h"

#include <cmath>

#include "core/layer_carry.h"
#include "ops/elementwise.h"
#include "ops/gather.h"

namespace blt::model {

namespace {
std::optional<std::pair<int64_t, int64_t>> decoder_patch_projection(const BltArgs& a) {
  if (a.dim_global == a.dim_local_decoder) return std::nullopt;
  return std::pair{a.dim_global, a.decoder_dim_token_emb() * (a.cross_attn_decoder ? a.k() : 1)};
}
}  // namespace

LocalDecoder::LocalDecoder(std::shared_ptr<const BltArgs> args, nn::ParamRegistry& reg)
    : args_(std::move(args)),
      stack_(reg, "local_decoder", args_->decoder_args(), args_->decoder_dim_token_emb(),
             decoder_patch_projection(*args_),
             args_->cross_attn_decoder ? (args_->cross_attn_all_layers_decoder ? args_->n_layers_local_decoder : 1) : 0,
             args_->cross_attn_nheads.value_or(1)),
      norm_(reg, "local_decoder.norm", args_->dim_local_decoder, args_->norm_eps),
      output_(reg, "local_decoder.output", args_->dim_local_decoder, args_->vocab_size,
              nn::Init::trunc_normal(1.0 / std::sqrt(static_cast<double>(args_->dim_local_decoder)))) {}

Var LocalDecoder::operator()(Graph& g, const Var& embeds, const Var& h_global, const patching::PatchLayout& layout,
                             const LocalContext& ctx) const {
  const int64_t N = layout.N;
  const Var patch_embeds = project_patches(
      g, args_->cross_attn_decoder ? h_global : ops::gather_rows(g, h_global, layout.decoder_patch_ids, N));
  g.trace("decoder_patch_embeds", patch_embeds.value);
  Var h = args_->cross_attn_decoder ? embeds : ops::add(g, embeds, patch_embeds);
  const auto& layers = stack_.layers();
  LayerCarry carry(g, {h.shape()}, h.dtype());  // patch_embeds, allocated before it, stays
  for (size_t i = 0; i < layers.size(); ++i) {
    if (args_->cross_attn_decoder && (i == 0 || args_->cross_attn_all_layers_decoder)) {
      FlopScope scope(g.flops(), "decoder_cross_attn");
      h = ops::add(g, h, stack_.cross()[i](g, h, patch_embeds, ctx.cross));  // 2·h + attention, as the reference
      g.trace(LayerName("local_decoder", static_cast<int64_t>(i), "cross_out"), h.value);
    }
    h = layers[i](g, h, ctx.self);
    g.trace(LayerName("local_decoder", static_cast<int64_t>(i), "out"), h.value);
    h = carry.keep(h);
  }
  return output_(g, norm_(g, h));
}

Var LocalDecoder::project_patches(Graph& g, const Var& h_global) const {
  const int64_t B = h_global.shape()[0], P = h_global.shape()[1];
  if (!stack_.patch_projection()) return h_global;
  const Var p = (*stack_.patch_projection())(g, h_global);
  return args_->cross_attn_decoder ? p.reshape(Shape{B, P * args_->k(), stack_.dim()}) : p;
}

LocalDecoder::PatchCache LocalDecoder::make_patch_cache(int64_t max_patches) const {
  PatchCache pc;
  if (args_->cross_attn_decoder) {
    for (const auto& c : stack_.cross()) pc.cross.emplace_back(max_patches * args_->k(), c.n_heads(), c.head_dim());
  } else {
    pc.patch_rows = Tensor::zeros(Shape{max_patches, stack_.dim()});
  }
  return pc;
}

void LocalDecoder::add_patches(Graph& g, const Var& h_global, PatchCache& pc) const {
  const int64_t np = h_global.shape()[1];
  if (pc.n + np > (args_->cross_attn_decoder ? pc.cross[0].capacity() / args_->k() : pc.patch_rows.shape()[0]))
    throw ShapeError("[local_decoder] patch cache full at " + std::to_string(pc.n) + " patches");
  const Var p = project_patches(g, h_global);
  if (args_->cross_attn_decoder) {
    FlopScope scope(g.flops(), "decoder_cross_attn");
    for (size_t l = 0; l < pc.cross.size(); ++l) {
      const auto kv = stack_.cross()[l].keys_values(g, p);
      pc.cross[l].append(kv.k.value, kv.v.value);
    }
  } else {
    pc.patch_rows.view().slice(pc.n, pc.n + np).copy_from(p.value.reshape(Shape{np, stack_.dim()}));
  }
  pc.n += np;
}

Var LocalDecoder::step(Graph& g, const Var& embeds, std::span<const int32_t> dec_ids, const nn::SelfAttnContext& self,
                       std::span<nn::KVCache> caches, const PatchCache& pc) const {
  const int64_t T = embeds.shape()[1], k = args_->k(), D = stack_.dim();
  Var h = embeds;
  std::span<ops::KeyRange> cross_ranges;
  if (args_->cross_attn_decoder) {
    // Byte t sees the k slots of decoder patches d-w+1 .. d (decoder_cross_ranges).
    const int64_t w = args_->cross_attn_window_decoder.value_or(1);
    cross_ranges = {static_cast<ops::KeyRange*>(g.arena().alloc(sizeof(ops::KeyRange) * T)), static_cast<size_t>(T)};
    for (int64_t t = 0; t < T; ++t)
      cross_ranges[t] = {static_cast<int32_t>(std::max<int64_t>(0, dec_ids[t] - w + 1) * k),
                         static_cast<int32_t>((dec_ids[t] + 1) * k)};
  } else {
    const Var rows = Graph::constant(pc.patch_rows.view().reshape(Shape{1, pc.patch_rows.shape()[0], D}));
    h = ops::add(g, embeds, ops::gather_rows(g, rows, dec_ids, T));
  }
  const auto& layers = stack_.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (args_->cross_attn_decoder && (i == 0 || args_->cross_attn_all_layers_decoder)) {
      FlopScope scope(g.flops(), "decoder_cross_attn");
      const nn::KVCache& c = pc.cross[i];
      h = ops::add(g, h, stack_.cross()[i].attend(g, h, c.keys(), c.values(), cross_ranges));
    }
    h = layers[i].step(g, h, self, caches[i]);
  }
  return output_(g, norm_(g, h));
}

std::vector<nn::KVCache> LocalDecoder::make_caches(int64_t capacity) const {
  return nn::make_kv_caches(stack_.layers(), capacity);
}

}  // namespace blt::model
