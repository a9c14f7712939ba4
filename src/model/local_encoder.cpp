// LocalEncoder forward (layers, then pooling-initialised cross attention) and
// its cached-decoding halves: byte steps, and patch vectors once a patch closes.
#include "model/local_encoder.h"

#include <array>
#include <cmath>

#include "core/layer_carry.h"
#include "ops/concat.h"
#include "ops/elementwise.h"
#include "ops/segment_pool.h"

namespace blt::model {

namespace {
std::optional<std::pair<int64_t, int64_t>> encoder_patch_projection(const BltArgs& a) {
  if (!a.cross_attn_encoder) return std::nullopt;
  return std::pair{a.dim_local_encoder, a.encoder_dim_token_emb() * a.k()};
}
}  // namespace

LocalEncoder::LocalEncoder(std::shared_ptr<const BltArgs> args, nn::ParamRegistry& reg)
    : args_(std::move(args)),
      pool_modes_(args_->pool_modes()),
      reg_(&reg),
      stack_(reg, "local_encoder", args_->encoder_args(), args_->encoder_dim_token_emb(),
             encoder_patch_projection(*args_),
             args_->cross_attn_encoder ? (args_->cross_attn_all_layers_encoder ? args_->n_layers_local_encoder : 1) : 0,
             args_->cross_attn_nheads.value_or(1)) {
  tok_embeddings_ = reg.declare("local_encoder.tok_embeddings.weight",
                                Shape{args_->vocab_size, args_->dim_local_encoder},
                                nn::Init::trunc_normal(1.0 / std::sqrt(static_cast<double>(args_->dim_local_encoder))));
}

LocalEncoder::Output LocalEncoder::operator()(Graph& g, const Var& embeds, const patching::PatchLayout& layout,
                                             const LocalContext& ctx) const {
  const int64_t B = layout.B, P = layout.P, D = stack_.dim(), n = static_cast<int64_t>(stack_.layers().size());
  Output out;
  Var h = embeds;
  // Carried: h and the patch queries once made (a layer's h is read by its own cross attention only).
  LayerCarry carry(g, {h.shape(), Shape{B, args_->cross_attn_encoder ? P * args_->k() : 0, D}}, h.dtype());
  for (int64_t i = 0; i < n; ++i) {
    h = stack_.layers()[i](g, h, ctx.self);
    g.trace(LayerName("local_encoder", i, "out"), h.value);
    if (args_->cross_attn_encoder && (i == n - 1 || args_->cross_attn_all_layers_encoder)) {
      FlopScope scope(g.flops(), "encoder_cross_attn");
      if (!out.patch_embeds.value.defined()) {
        // Patch queries, once: pool each patch's bytes, project to k slots of width D.
        const Var pooled = ops::segment_pool(g, h, layout.offsets, P, pool_modes_.front());
        out.patch_embeds = (*stack_.patch_projection())(g, pooled).reshape(Shape{B, P * args_->k(), D});
      }
      const auto& cross = stack_.cross()[args_->cross_attn_all_layers_encoder ? i : 0];
      // The reference adds the cross output (itself x + attention) to x: 2·x + attention.
      out.patch_embeds = ops::add(g, out.patch_embeds, cross(g, out.patch_embeds, h, ctx.cross));
      g.trace(LayerName("local_encoder", i, "patch_embeds"), out.patch_embeds.value);
    }
    carry.keep({&h, &out.patch_embeds});
  }
  out.h = h;
  return out;
}

Var LocalEncoder::step(Graph& g, const Var& embeds, const nn::SelfAttnContext& self, std::span<nn::KVCache> caches,
                       std::span<Tensor> layer_states) const {
  const int64_t T = embeds.shape()[1], D = stack_.dim();
  Var h = embeds;
  for (size_t i = 0; i < stack_.layers().size(); ++i) {
    const int64_t row = caches[i].n;  // where the new bytes go, before the step appends them
    h = stack_.layers()[i].step(g, h, self, caches[i]);
    layer_states[i].view().slice(row, row + T).copy_from(h.value.reshape(Shape{T, D}));
  }
  return h;
}

Var LocalEncoder::patch_vectors(Graph& g, std::span<const Tensor> layer_states, std::span<const int32_t> starts,
                               int64_t p0, int64_t p1) const {
  const int64_t D = stack_.dim(), k = args_->k(), np = p1 - p0, n = static_cast<int64_t>(stack_.layers().size());
  const int64_t w = args_->cross_attn_window_encoder.value_or(1);
  const int32_t b_lo = starts[std::max<int64_t>(0, p0 - w + 1)], b_hi = starts[p1];
  // Segments and key ranges relative to the bytes [b_lo, b_hi) the new patches can see.
  auto* off = static_cast<int32_t*>(g.arena().alloc(sizeof(int32_t) * (np + 1)));
  for (int64_t p = p0; p <= p1; ++p) off[p - p0] = starts[p] - b_lo;
  auto* ranges = static_cast<ops::KeyRange*>(g.arena().alloc(sizeof(ops::KeyRange) * np * k));
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t j = 0; j < k; ++j)
      ranges[(p - p0) * k + j] = {starts[std::max<int64_t>(0, p - w + 1)] - b_lo, starts[p + 1] - b_lo};
  const std::span<const ops::KeyRange> cross_ranges{ranges, static_cast<size_t>(np * k)};
  auto bytes = [&](int64_t layer) {
    return Graph::constant(layer_states[layer].view().slice(b_lo, b_hi).reshape(Shape{1, b_hi - b_lo, D}));
  };
  if (!args_->cross_attn_encoder) {
    std::array<Var, 3> pooled;  // at most mean, min and max
    for (size_t i = 0; i < pool_modes_.size(); ++i)
      pooled[i] = ops::segment_pool(g, bytes(n - 1), {off, static_cast<size_t>(np + 1)}, np, pool_modes_[i]);
    return pool_modes_.size() == 1 ? pooled[0] : ops::concat_last(g, std::span(pooled).first(pool_modes_.size()));
  }
  FlopScope scope(g.flops(), "encoder_cross_attn");
  Var out;
  for (int64_t i = 0; i < n; ++i) {
    if (!(i == n - 1 || args_->cross_attn_all_layers_encoder)) continue;
    const Var h = bytes(i);
    if (!out.value.defined()) {
      const Var pooled = ops::segment_pool(g, h, {off, static_cast<size_t>(np + 1)}, np, pool_modes_.front());
      out = (*stack_.patch_projection())(g, pooled).reshape(Shape{1, np * k, D});
    }
    const auto& cross = stack_.cross()[args_->cross_attn_all_layers_encoder ? i : 0];
    out = ops::add(g, out, cross(g, out, h, cross_ranges));
  }
  return out.reshape(Shape{1, np, k * D});
}

std::vector<nn::KVCache> LocalEncoder::make_caches(int64_t capacity) const {
  return nn::make_kv_caches(stack_.layers(), capacity);
}

std::vector<Tensor> LocalEncoder::make_layer_states(int64_t capacity) const {
  std::vector<Tensor> s;
  for (size_t i = 0; i < stack_.layers().size(); ++i) s.push_back(Tensor::zeros(Shape{capacity, stack_.dim()}));
  return s;
}

}  // namespace blt::model
