// Self-attention module: wq, wk, wv, wo ("<prefix>.wq.weight", ...), RoPE on
// q and k, grouped KV heads, and the mask as per-query key ranges.
// Init as the reference: wq/wk/wv std s = base or dim^-1/2, wo std s/factor
// truncated at ±3s.
#pragma once

#include <optional>
#include <span>

#include "nn/kv_cache.h"
#include "nn/linear.h"
#include "ops/attention.h"
#include "ops/rope.h"

namespace blt::nn {

// What a self-attention layer needs besides its input: positions and mask.
struct SelfAttnContext {
  const ops::RopeTable* rope = nullptr;
  std::span<const int32_t> positions;       // (T) RoPE positions
  std::span<const ops::KeyRange> ranges;    // (B·T) allowed keys per query
};

class Attention {
 public:
  Attention() = default;
  Attention(ParamRegistry& reg, const std::string& prefix, int64_t dim, int64_t head_dim, int64_t n_heads,
            int64_t n_kv_heads, std::optional<double> base_std, double factor);

  // x (B,T,dim) -> (B,T,dim)
  // x_bf16: x rounded to bf16 for q, k and v when given (wq().bf16_input_buffer, filled by the op that made
  // x), else made here
  Var operator()(Graph& g, const Var& x, const SelfAttnContext& ctx, const TensorView& x_bf16 = {}) const;

  // Cached decoding (inference, B = 1): x (1,T,dim) are the next T positions; their keys and values are
  // appended to `cache` (rows cache.n .. cache.n+T), and ctx.ranges (T) index cache rows; x_bf16 as above.
  // -> (1,T,dim)
  Var step(Graph& g, const Var& x, const SelfAttnContext& ctx, KVCache& cache,
           const TensorView& x_bf16 = {}) const;

  int64_t n_heads() const { return n_heads_; }
  int64_t n_kv_heads() const { return n_kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  const Linear& wq() const { return wq_; }
  const Linear& wk() const { return wk_; }
  const Linear& wv() const { return wv_; }
  const Linear& wo() const { return wo_; }

 private:
  // Projects and rotates x; attends over its own keys, or over `cache` after appending them.
  Var attend(Graph& g, const Var& x, const SelfAttnContext& ctx, KVCache* cache,
             const TensorView& x_bf16) const;

  Linear wq_, wk_, wv_, wo_;
  int64_t head_dim_ = 0, n_heads_ = 0, n_kv_heads_ = 0;
};

}  // namespace blt::nn
