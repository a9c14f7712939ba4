// Cross-attention module of the local encoder/decoder: RMSNorm on the queries
// (cross_attn_norm_q) and on the keys/values (cross_attn_norm_kv), wq/wk/wv/wo,
// no RoPE, the mask as per-query key ranges. As the reference, it returns
// x + attention (callers add x once more: the "double residual").
// Init: all four projections with std (base or dim^-1/2) / factor.
#pragma once

#include <optional>
#include <span>

#include "nn/linear.h"
#include "nn/rms_norm.h"
#include "ops/attention.h"

namespace blt::nn {

class CrossAttention {
 public:
  CrossAttention() = default;
  CrossAttention(ParamRegistry& reg, const std::string& prefix, int64_t dim, int64_t n_heads, double norm_eps,
                 std::optional<double> base_std, double factor);

  // x (B,Tq,dim) queries, kv (B,Tk,dim), ranges (B·Tq) -> x + attention (B,Tq,dim)
  Var operator()(Graph& g, const Var& x, const Var& kv, std::span<const ops::KeyRange> ranges) const {
    const KeysValues kvp = keys_values(g, kv);
    return attend(g, x, kvp.k, kvp.v, ranges);
  }

  // The two halves, so cached decoding computes the keys/values of each patch once:
  struct KeysValues {
    Var k, v;  // (B,Tk,H,Dh)
  };
  // kv (B,Tk,dim) -> normed and projected keys and values
  KeysValues keys_values(Graph& g, const Var& kv) const;
  // x (B,Tq,dim), k, v (B,Tk,H,Dh), ranges (B·Tq) -> x + attention (B,Tq,dim)
  Var attend(Graph& g, const Var& x, const Var& k, const Var& v, std::span<const ops::KeyRange> ranges) const;

  int64_t n_heads() const { return n_heads_; }
  int64_t head_dim() const { return head_dim_; }

 private:
  RMSNorm norm_q_, norm_kv_;
  Linear wq_, wk_, wv_, wo_;
  int64_t n_heads_ = 0, head_dim_ = 0;
};

}  // namespace blt::nn
