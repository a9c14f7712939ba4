// Per-position next-byte entropies from the entropy model, as the reference's
// calculate_entropies computes them: the token sequence is cut into chunks of
// `chunk` tokens, each run with fresh context and positions restarting at 0.
// (The reference zero-pads the last chunk; with causal attention padding
// cannot change the real positions, so the last chunk simply runs shorter.)
// Several chunks run as one batch; memory is bounded by batch × chunk.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "lm/lm_transformer.h"

namespace blt::lm {

struct EntropyOptions {
  int64_t chunk = 8192;  // tokens per chunk (clamped to the model's max_seqlen)
  int64_t batch = 4;     // chunks per forward pass
};

class EntropyComputer {
 public:
  EntropyComputer(const LMTransformer& model, EntropyOptions opt);

  // tokens (N) -> entropies (N), nats, of the distribution predicting token i+1 at position i.
  std::vector<float> compute(std::span<const int32_t> tokens);

  // tokens (B,N) with N <= chunk(): each row its own context, up to `batch` rows per pass -> out (B·N).
  void compute_rows(std::span<const int32_t> tokens, int64_t B, int64_t N, std::span<float> out);

  // Streaming: feed tokens in any pieces; `emit` receives the entropies of completed chunks in order;
  // finish() flushes the rest. Memory stays O(batch × chunk).
  void push(std::span<const int32_t> tokens, const std::function<void(std::span<const float>)>& emit);
  void finish(const std::function<void(std::span<const float>)>& emit);

  int64_t chunk() const { return chunk_; }
  int64_t batch() const { return batch_; }
  // FLOPs executed by all forward passes so far.
  const FlopCounter& flops() { return graph_.flops(); }

 private:
  // tokens (rows,T) -> out (rows·T): one forward pass and the entropies of its logits.
  void forward_rows(std::span<const int32_t> tokens, int64_t rows, int64_t T, float* out);
  // Runs the buffered tokens (whole chunks, plus a partial one if `flush`) and emits their entropies.
  void run(bool flush, const std::function<void(std::span<const float>)>& emit);

  const LMTransformer& model_;
  int64_t chunk_, batch_;
  std::vector<int32_t> pending_;
  std::vector<float> out_;
  Graph graph_;
};

}  // namespace blt::lm
