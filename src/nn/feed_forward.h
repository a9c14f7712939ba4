// FeedForward: w2(silu(w1 x) · w3 x), names "<prefix>.w1/.w2/.w3.weight".
// Init as the reference: w1, w3 with std dim^-1/2 (or the base std), w2 with
// hidden^-1/2 (or the base std) divided by the depth factor.
#pragma once

#include <optional>

#include "nn/linear.h"
#include "ops/swiglu.h"

namespace blt::nn {

class FeedForward {
 public:
  FeedForward() = default;
  FeedForward(ParamRegistry& reg, const std::string& prefix, int64_t dim, int64_t hidden,
              std::optional<double> base_std, double factor) {
    const double in_std = base_std.value_or(1.0 / std::sqrt(static_cast<double>(dim)));
    const double out_std = base_std.value_or(1.0 / std::sqrt(static_cast<double>(hidden))) / factor;
    w1_ = Linear(reg, prefix + ".w1", dim, hidden, Init::trunc_normal(in_std));
    w3_ = Linear(reg, prefix + ".w3", dim, hidden, Init::trunc_normal(in_std));
    w2_ = Linear(reg, prefix + ".w2", hidden, dim, Init::trunc_normal(out_std));
  }

  // x (..,dim) -> (..,dim); w1 and w3 share x's bf16 rounding: x_bf16 when given (w1().bf16_input_buffer,
  // filled by the op that made x), else made here. swiglu writes its output's rounding for w2.
  Var operator()(Graph& g, const Var& x, const TensorView& x_bf16 = {}) const {
    const TensorView xb = x_bf16.defined() ? x_bf16 : w1_.bf16_input(g, x);
    const TensorView hb = w2_.bf16_input_buffer(g, x.shape().with_last(w2_.in()), x.dtype());
    return w2_(g, ops::swiglu(g, w1_(g, x, xb), w3_(g, x, xb), hb), hb);
  }
  const Linear& w1() const { return w1_; }

 private:
  Linear w1_, w3_, w2_;
};

}  // namespace blt::nn
