// ByteLatentTransformer construction and forward.
#include "model/blt.h"

#include <cmath>
#include <memory>

#include "model/hash_ngram.h"
#include "ops/concat.h"
#include "ops/embedding.h"
#include "ops/mask.h"
#include "ops/segment_pool.h"

namespace blt::model {

namespace {
template <class T>
std::span<T> arena_span(Graph& g, int64_t n) {
  return {static_cast<T*>(g.arena().alloc(sizeof(T) * static_cast<size_t>(n))), static_cast<size_t>(n)};
}
}  // namespace

ByteLatentTransformer::ByteLatentTransformer(const BltArgs& args, nn::ParamRegistry& reg)
    : args_(std::make_shared<const BltArgs>(args)),
      reg_(&reg),
      encoder_(args_, reg),
      global_(args_, reg),
      decoder_(args_, reg) {
  const double std = 1.0 / std::sqrt(static_cast<double>(args_->dim_local_encoder));
  for (int64_t t = 0; t < args_->n_hash_tables(); ++t)
    hash_tables_.push_back(reg.declare("encoder_hash_tok_embedding." + std::to_string(t) + ".weight",
                                       Shape{args_->encoder_hash_byte_group_vocab, args_->dim_local_encoder},
                                       nn::Init::trunc_normal(std)));
}

Var ByteLatentTransformer::forward(Graph& g, std::span<const int32_t> tokens, const patching::PatchLayout& layout) const {
  const int64_t B = layout.B, N = layout.N, P = layout.P, k = args_->k();
  if (static_cast<int64_t>(tokens.size()) != B * N) throw ShapeError("[blt] tokens do not match the patch layout");
  if (N > args_->max_encoder_seq_length)
    throw ShapeError("[blt] " + std::to_string(N) + " bytes exceed max_encoder_seq_length " +
                     std::to_string(args_->max_encoder_seq_length) + " (evaluate longer documents in windows)");

  // Positions and masks for the local models (the decoder sees the same bytes).
  auto pos = arena_span<int32_t>(g, N);
  for (int64_t t = 0; t < N; ++t) pos[t] = static_cast<int32_t>(t);
  auto self = arena_span<ops::KeyRange>(g, B * N);
  ops::block_causal_ranges(tokens, B, N, args_->eos_id, args_->local_attention_window_len, self);
  std::span<ops::KeyRange> enc_cross, dec_cross;
  if (args_->cross_attn_encoder) {
    enc_cross = arena_span<ops::KeyRange>(g, B * P * k);
    patching::encoder_cross_ranges(layout, k, args_->cross_attn_window_encoder, enc_cross);
  }
  if (args_->cross_attn_decoder) {
    dec_cross = arena_span<ops::KeyRange>(g, B * N);
    patching::decoder_cross_ranges(layout, k, args_->cross_attn_window_decoder, dec_cross);
  }

  LocalEncoder::Output enc;
  Var h;
  {
    FlopScope scope(g.flops(), "local_encoder");
    const Var embeds = embed(g, tokens, B, N, N);
    g.trace("encoder_embeds", embeds.value);
    enc = encoder_(g, embeds, layout, {{&encoder_.stack().rope(), pos, self}, enc_cross});
    g.trace("h_encoder", enc.h.value);
    if (args_->cross_attn_encoder) {
      g.trace("h_cross", enc.patch_embeds.value);
      h = enc.patch_embeds.reshape(Shape{B, P, k * args_->dim_local_encoder});
    } else {
      std::vector<Var> pooled;
      for (ops::PoolMode m : args_->pool_modes()) pooled.push_back(ops::segment_pool(g, enc.h, layout.offsets, P, m));
      h = pooled.size() == 1 ? pooled[0] : ops::concat_last(g, pooled);
    }
  }
  g.trace("global_in", h.value);
  {
    FlopScope scope(g.flops(), "global");
    h = global_(g, h, layout.global_tokens);
  }
  g.trace("global_out", h.value);
  FlopScope scope(g.flops(), "local_decoder");
  return decoder_(g, enc.h, h, layout, {{&decoder_.stack().rope(), pos, self}, dec_cross});
}

Var ByteLatentTransformer::embed(Graph& g, std::span<const int32_t> tokens, int64_t B, int64_t N, int64_t keep) const {
  const int64_t n_tables = 1 + args_->n_hash_tables();
  auto all = arena_span<int32_t>(g, n_tables * B * N);
  std::copy(tokens.begin(), tokens.end(), all.begin());
  hash_ngram_ids_all(tokens, B, N, args_->encoder_hash_byte_group_size, args_->encoder_hash_byte_group_nb_functions,
                     args_->encoder_hash_byte_group_vocab, all.subspan(B * N));
  std::span<int32_t> ids = all;
  if (keep < N) {  // the last `keep` positions of every row of every table
    ids = arena_span<int32_t>(g, n_tables * B * keep);
    for (int64_t r = 0; r < n_tables * B; ++r)
      std::copy_n(all.begin() + r * N + (N - keep), keep, ids.begin() + r * keep);
  }
  // The tables' views live in the arena: a decoding step allocates nothing.
  auto tables = arena_span<Var>(g, n_tables);
  std::construct_at(&tables[0], encoder_.tok_embeddings());
  for (int64_t t = 1; t < n_tables; ++t) std::construct_at(&tables[t], reg_->var(hash_tables_[t - 1]));
  return ops::embedding_sum(g, tables, ids, Shape{B, keep});
}

Var ByteLatentTransformer::embed_last(Graph& g, std::span<const int32_t> context, int64_t n_new) const {
  // An n-gram of size s at position t reads tokens t-s+1 .. t: the largest group size bounds the look-back.
  int64_t reach = 0;
  for (int64_t s : args_->encoder_hash_byte_group_size) reach = std::max(reach, s - 1);
  const int64_t T = static_cast<int64_t>(context.size());
  const int64_t from = std::max<int64_t>(0, T - n_new - reach);
  return embed(g, context.subspan(from), 1, T - from, n_new);
}

}  // namespace blt::model
