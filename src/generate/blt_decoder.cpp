// The cached BLT step and the recompute-everything baseline.
#include "generate/blt_decoder.h"

#include <algorithm>

#include "generate/context_window.h"
#include "ops/cross_entropy.h"
#include "ops/mask.h"

namespace blt::gen {

using patching::PatchingMode;

BltCachedDecoder::BltCachedDecoder(const modeldir::BltModel& m)
    : m_(m),
      capacity_(m.args.max_encoder_seq_length),
      max_patches_(std::min(m.args.max_seqlen, capacity_ + 1)),
      entropy_chunk_(0),
      patcher_(m.patcher) {
  if (m.patcher.patching_mode == PatchingMode::Bpe)
    throw ConfigError("patching_mode bpe needs BPE-delimited input; generation patches raw bytes");
  if (m.patcher.patching_mode == PatchingMode::Entropy) {
    if (!m.entropy_lm()) throw ConfigError("patching_mode entropy needs an entropy model");
    entropy_chunk_ = std::min(patching::kEntropyChunk, m.entropy_lm()->args().max_seqlen);
    entropy_.emplace(*m.entropy_lm(), entropy_chunk_);
  }
  const model::ByteLatentTransformer& net = *m.model;
  enc_caches_ = net.encoder().make_caches(capacity_);
  enc_states_ = net.encoder().make_layer_states(capacity_);
  global_caches_ = net.global().make_caches(max_patches_);
  dec_caches_ = net.decoder().make_caches(capacity_);
  patches_ = net.decoder().make_patch_cache(max_patches_);
  context_.reserve(static_cast<size_t>(capacity_));
  starts_.reserve(static_cast<size_t>(capacity_ + 2));
  patcher_.reserve(capacity_ + 2);
  lengths_.reserve(starts_.capacity());
  global_tokens_.reserve(static_cast<size_t>(max_patches_));
  g_.set_recording(false);
  g_.set_precision(m.params->precision());
  reset();
}

void BltCachedDecoder::reset() {
  context_.clear();
  if (entropy_) entropy_->reset();
  patcher_.reset();
  starts_.assign(1, 0);  // position 0 opens the first patch
  global_tokens_.clear();
  for (auto* caches : {&enc_caches_, &global_caches_, &dec_caches_})
    for (auto& c : *caches) c.n = 0;
  for (auto& c : patches_.cross) c.n = 0;
  patches_.n = 0;
}

void BltCachedDecoder::score(std::span<const int32_t> tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  h_.assign(static_cast<size_t>(n), 0.0f);
  if (!entropy_) return;
  for (int64_t i = 0; i < n;) {
    if (entropy_->size() == entropy_chunk_) entropy_->reset();  // the next chunk starts a fresh context
    const int64_t take = std::min(n - i, entropy_chunk_ - entropy_->size());
    const TensorView logits = entropy_->feed_all(tokens.subspan(i, take));
    ops::row_entropy(logits.reshape(Shape{take, logits.shape().last()}),
                     TensorView(h_.data() + i, Shape{take}, DType::F32));
    i += take;
  }
}

void BltCachedDecoder::push_patch(int64_t t, int32_t token, float h) {
  bool opens;  // does position t+1 start a patch?
  if (m_.patcher.patching_mode == PatchingMode::Static) {
    opens = t % m_.patcher.static_patch_size() == 0;  // [1] + fixed patches (see RowPatcher)
  } else {
    patcher_.push(token, h);
    opens = patcher_.next_starts_patch();
  }
  if (opens) starts_.push_back(static_cast<int32_t>(t + 1));
  // Byte t reads decoder patch id(t+1) - 1 = (patch starts <= t+1) - 2: always a closed patch.
  dec_ids_.push_back(static_cast<int32_t>(starts_.size()) - 2);
}

void BltCachedDecoder::close_patches() {
  const int64_t p0 = patches_.n, p1 = static_cast<int64_t>(starts_.size()) - 1;  // all but the open patch
  if (p1 <= p0) return;
  if (p1 > max_patches_)
    throw ShapeError("[blt_decoder] " + std::to_string(p1) + " patches exceed max_seqlen " +
                     std::to_string(m_.args.max_seqlen));
  for (int64_t p = p0; p < p1; ++p) {
    const bool eos = std::find(context_.begin() + starts_[p], context_.begin() + starts_[p + 1], m_.args.eos_id) !=
                     context_.begin() + starts_[p + 1];
    global_tokens_.push_back(eos ? m_.args.eos_id : 0);  // 0: BOE, as PatchLayout
  }
  const model::ByteLatentTransformer& net = *m_.model;
  Var h;
  {
    FlopScope scope(g_.flops(), "local_encoder");
    h = net.encoder().patch_vectors(g_, enc_states_, starts_, p0, p1);
  }
  {
    FlopScope scope(g_.flops(), "global");
    h = net.global().step(g_, h, global_tokens_, global_caches_);
  }
  FlopScope scope(g_.flops(), "local_decoder");
  net.decoder().add_patches(g_, h, patches_);
  global_steps_ += p1 - p0;
}

std::span<const float> BltCachedDecoder::feed(std::span<const int32_t> tokens) {
  append(tokens);
  const int64_t n = static_cast<int64_t>(tokens.size()), T = size(), t0 = T - n;
  g_.reset();
  score(tokens);
  dec_ids_.clear();
  for (int64_t i = 0; i < n; ++i) push_patch(t0 + i, tokens[i], h_[i]);

  const model::ByteLatentTransformer& net = *m_.model;
  const model::BltArgs& a = m_.args;
  // Positions and local block-causal ranges of the new bytes (rows of the whole context's mask).
  auto* pos = static_cast<int32_t*>(g_.arena().alloc(sizeof(int32_t) * n));
  for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(t0 + i);
  auto* all = static_cast<ops::KeyRange*>(g_.arena().alloc(sizeof(ops::KeyRange) * T));
  ops::block_causal_ranges(context_, 1, T, a.eos_id, a.local_attention_window_len, {all, static_cast<size_t>(T)});
  const std::span<const int32_t> positions{pos, static_cast<size_t>(n)};
  const std::span<const ops::KeyRange> ranges{all + t0, static_cast<size_t>(n)};

  Var h;
  {
    FlopScope scope(g_.flops(), "local_encoder");
    const Var embeds = net.embed_last(g_, context_, n);
    h = net.encoder().step(g_, embeds, {&net.encoder().stack().rope(), positions, ranges}, enc_caches_, enc_states_);
  }
  close_patches();
  FlopScope scope(g_.flops(), "local_decoder");
  const Var logits =
      net.decoder().step(g_, h, dec_ids_, {&net.decoder().stack().rope(), positions, ranges}, dec_caches_, patches_);
  return last_row(logits.value, last_);
}

std::span<const int32_t> BltCachedDecoder::patch_lengths() {
  lengths_.clear();
  for (size_t p = 0; p < starts_.size(); ++p)
    lengths_.push_back((p + 1 < starts_.size() ? starts_[p + 1] : static_cast<int32_t>(size()) + 1) - starts_[p]);
  return lengths_;
}

int64_t BltCachedDecoder::cut_point() { return context_cut(patch_lengths(), size(), capacity_); }

double BltCachedDecoder::flops() { return g_.flops().total_forward() + (entropy_ ? entropy_->flops() : 0.0); }

BltNoCacheDecoder::BltNoCacheDecoder(const modeldir::BltModel& m) : m_(m), patcher_(m.patcher, m.entropy_lm(), m.args.eos_id) {
  g_.set_recording(false);
  g_.set_precision(m.params->precision());
}

std::span<const float> BltNoCacheDecoder::feed(std::span<const int32_t> tokens) {
  append(tokens);
  patcher_.layout(context_, 1, size(), layout_);
  g_.reset();
  const Var logits = m_.model->forward(g_, context_, layout_);
  global_steps_ += layout_.P;
  return last_row(logits.value, last_);
}

int64_t BltNoCacheDecoder::cut_point() { return context_cut(layout_.lengths, size(), capacity()); }

}  // namespace blt::gen
