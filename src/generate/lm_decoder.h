// Decoders for byte LMs (an LMTransformer: the entropy model or a byte-level
// baseline). LmCachedDecoder keeps one KVCache per layer, so a step costs
// O(window) attention and one token's projections; LmNoCacheDecoder re-runs
// the whole context per token (the reference's definition, the ground truth).
#pragma once

#include "core/graph.h"
#include "generate/decoder.h"
#include "lm/lm_transformer.h"

namespace blt::gen {

class LmCachedDecoder : public Decoder {
 public:
  // capacity <= max_seqlen (0: max_seqlen). The caches are allocated here, once.
  explicit LmCachedDecoder(const lm::LMTransformer& model, int64_t capacity = 0);

  std::span<const float> feed(std::span<const int32_t> tokens) override;
  // tokens (n) -> logits (n,V) of every new position, valid until the next call.
  TensorView feed_all(std::span<const int32_t> tokens);
  void reset() override;
  int64_t capacity() const override { return capacity_; }
  int64_t cut_point() override;
  std::span<const int32_t> patch_lengths() override { return {}; }
  bool next_opens_patch() const override { return false; }
  int64_t global_steps() const override { return 0; }
  double flops() override { return g_.flops().total_forward(); }

 private:
  const lm::LMTransformer& model_;
  int64_t capacity_;
  std::vector<nn::KVCache> caches_;
  std::vector<float> last_;
  Graph g_;
};

class LmNoCacheDecoder : public Decoder {
 public:
  explicit LmNoCacheDecoder(const lm::LMTransformer& model);

  std::span<const float> feed(std::span<const int32_t> tokens) override;
  void reset() override { context_.clear(); }
  int64_t capacity() const override { return model_.args().max_seqlen; }
  int64_t cut_point() override;
  std::span<const int32_t> patch_lengths() override { return {}; }
  bool next_opens_patch() const override { return false; }
  int64_t global_steps() const override { return 0; }
  double flops() override { return g_.flops().total_forward(); }

 private:
  const lm::LMTransformer& model_;
  std::vector<float> last_;
  Graph g_;
};

}  // namespace blt::gen
