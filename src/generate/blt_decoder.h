// BLT decoders. BltCachedDecoder is the step API over every stage, for one
// row: the entropy model scores each new byte from its KV cache (fresh
// context every entropy chunk, as calculate_entropies), the incremental
// patcher decides online whether the next byte opens a patch
// (include_next_token, identical to offline patching), the local encoder
// steps from its caches and keeps each layer's byte states, a patch that
// closes is pooled / cross-attended over its own bytes once and runs through
// the global transformer once (one cache row per patch), the decoder turns it
// into cross-attention keys/values once, and the local decoder steps from its
// caches. BltNoCacheDecoder re-patches and re-runs the whole context per
// byte: the reference's generate_nocache.
#pragma once

#include <optional>

#include "core/graph.h"
#include "generate/decoder.h"
#include "generate/lm_decoder.h"
#include "modeldir/blt_model.h"
#include "patching/incremental.h"
#include "patching/row_patcher.h"

namespace blt::gen {

class BltCachedDecoder : public Decoder {
 public:
  // Allocates every cache for a context of max_encoder_seq_length bytes, once.
  explicit BltCachedDecoder(const modeldir::BltModel& m);

  std::span<const float> feed(std::span<const int32_t> tokens) override;
  void reset() override;
  int64_t capacity() const override { return capacity_; }
  int64_t cut_point() override;
  std::span<const int32_t> patch_lengths() override;
  bool next_opens_patch() const override { return starts_.back() == size(); }
  std::optional<float> next_entropy() const override {
    return entropy_ && !h_.empty() ? std::optional<float>(h_.back()) : std::nullopt;
  }
  int64_t global_steps() const override { return global_steps_; }
  double flops() override;

 private:
  // Entropies of the new tokens (entropy mode) -> h_, chunked as calculate_entropies.
  void score(std::span<const int32_t> tokens);
  // Token t (with entropy h) into the patcher: opens a patch at t+1 when due; records t's decoder patch.
  void push_patch(int64_t t, int32_t token, float h);
  // Runs the patches that closed in this step through the encoder's patch head, the global model and the
  // decoder's patch cache.
  void close_patches();

  const modeldir::BltModel& m_;
  int64_t capacity_, max_patches_, entropy_chunk_;
  std::optional<LmCachedDecoder> entropy_;
  patching::IncrementalPatcher patcher_;
  std::vector<int32_t> starts_;         // patch start positions; the last patch holds the next token
  std::vector<int32_t> lengths_;        // patch_lengths() output
  std::vector<float> h_;                // the step's entropies
  std::vector<int32_t> dec_ids_;        // the step's decoder patch ids
  std::vector<int32_t> global_tokens_;  // one per patch in the global model: EOS if it holds one, else BOE
  std::vector<nn::KVCache> enc_caches_, global_caches_, dec_caches_;
  std::vector<Tensor> enc_states_;      // per encoder layer (capacity, D): byte states for the patch head
  model::LocalDecoder::PatchCache patches_;
  int64_t global_steps_ = 0;
  std::vector<float> last_;
  Graph g_;
};

class BltNoCacheDecoder : public Decoder {
 public:
  explicit BltNoCacheDecoder(const modeldir::BltModel& m);

  std::span<const float> feed(std::span<const int32_t> tokens) override;
  void reset() override { context_.clear(); }
  int64_t capacity() const override { return m_.args.max_encoder_seq_length; }
  int64_t cut_point() override;
  std::span<const int32_t> patch_lengths() override { return layout_.lengths; }
  bool next_opens_patch() const override { return !layout_.lengths.empty() && layout_.lengths.back() == 1; }
  std::optional<float> next_entropy() const override {
    const auto h = patcher_.entropies();
    return h.empty() ? std::nullopt : std::optional<float>(h.back());
  }
  int64_t global_steps() const override { return global_steps_; }
  double flops() override { return g_.flops().total_forward() + patcher_.entropy_flops(); }

 private:
  const modeldir::BltModel& m_;
  patching::RowPatcher patcher_;
  patching::PatchLayout layout_;
  int64_t global_steps_ = 0;
  std::vector<float> last_;
  Graph g_;
};

}  // namespace blt::gen
