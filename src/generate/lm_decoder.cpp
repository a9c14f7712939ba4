// Byte-LM decoders: cached steps and recompute-everything.
#include "generate/lm_decoder.h"

#include "generate/context_window.h"

namespace blt::gen {

LmCachedDecoder::LmCachedDecoder(const lm::LMTransformer& model, int64_t capacity)
    : model_(model), capacity_(capacity > 0 ? std::min(capacity, model.args().max_seqlen) : model.args().max_seqlen),
      caches_(model.make_caches(capacity_)) {
  g_.set_recording(false);
  g_.set_precision(model.params().precision());
  context_.reserve(static_cast<size_t>(capacity_));
}

TensorView LmCachedDecoder::feed_all(std::span<const int32_t> tokens) {
  append(tokens);
  g_.reset();
  return model_.step(g_, context_, static_cast<int64_t>(tokens.size()), caches_).value;
}

std::span<const float> LmCachedDecoder::feed(std::span<const int32_t> tokens) {
  return last_row(feed_all(tokens), last_);
}

void LmCachedDecoder::reset() {
  context_.clear();
  for (auto& c : caches_) c.n = 0;
}

int64_t LmCachedDecoder::cut_point() { return context_cut({}, size(), capacity_); }

LmNoCacheDecoder::LmNoCacheDecoder(const lm::LMTransformer& model) : model_(model) {
  g_.set_recording(false);
  g_.set_precision(model.params().precision());
}

std::span<const float> LmNoCacheDecoder::feed(std::span<const int32_t> tokens) {
  append(tokens);
  g_.reset();
  return last_row(model_.forward(g_, context_, 1, size()).value, last_);
}

int64_t LmNoCacheDecoder::cut_point() { return context_cut({}, size(), capacity()); }

}  // namespace blt::gen
