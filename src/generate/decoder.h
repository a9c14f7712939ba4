// Decoder: what the sampling loop drives, one row of generation. Feed it
// tokens, get the logits of the token after the last one. Four
// implementations: byte LM and BLT, each cached (the step API: every stage
// keeps its keys/values, the global model steps once per closed patch) or
// recompute-everything (--no-cache: the reference's generate_nocache, kept as
// ground truth and speed baseline). Both kinds share one context rule, so
// their outputs agree at every step, through a context overflow too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/tensor.h"

namespace blt::gen {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Appends tokens to the context (size() + tokens.size() <= capacity()) -> logits (V) predicting the next
  // token, valid until the next call. The first call with a whole prompt is the prefill.
  virtual std::span<const float> feed(std::span<const int32_t> tokens) = 0;
  // Empties the context (caches are kept, rewound).
  virtual void reset() = 0;
  // Tokens the context can hold (max_seqlen, or the BLT's max_encoder_seq_length).
  virtual int64_t capacity() const = 0;
  // The context: every token fed since the last reset.
  std::span<const int32_t> context() const { return context_; }
  int64_t size() const { return static_cast<int64_t>(context_.size()); }
  // Where a full context is cut (see context_window.h): the kept part starts at a patch boundary.
  virtual int64_t cut_point() = 0;
  // Patch lengths of the context, the last holding the next token (BLT; empty for byte LMs).
  virtual std::span<const int32_t> patch_lengths() = 0;
  // Does the next token fed open a patch? (BLT: the last patch holds only it; always false for byte LMs.)
  virtual bool next_opens_patch() const = 0;
  // The entropy (nats) the patcher compared with the threshold to decide next_opens_patch(): the entropy
  // model's uncertainty about the next token (BLT entropy patching; nullopt otherwise).
  virtual std::optional<float> next_entropy() const { return std::nullopt; }
  // Global-model patch steps run so far (BLT; 0 for byte LMs): the cost BLT saves.
  virtual int64_t global_steps() const = 0;
  // Forward FLOPs executed so far (the entropy model's included).
  virtual double flops() = 0;

 protected:
  // Appends tokens to context_; ShapeError when they are none or do not fit.
  void append(std::span<const int32_t> tokens);
  // logits (1,T,V) -> the last row, copied into `out`.
  static std::span<const float> last_row(const TensorView& logits, std::vector<float>& out);

  std::vector<int32_t> context_;
};

}  // namespace blt::gen
