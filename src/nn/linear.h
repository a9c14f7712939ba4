// Linear module: one (out, in) weight named "<prefix>.weight", no bias. In
// mixed precision its matmuls read the registry's bf16 copy of the weight.
#pragma once

#include "nn/params.h"
#include "ops/linear.h"

namespace blt::nn {

class Linear {
 public:
  Linear() = default;
  Linear(ParamRegistry& reg, const std::string& prefix, int64_t in, int64_t out, Init init)
      : reg_(&reg), w_(reg.declare(prefix + ".weight", Shape{out, in}, init)), in_(in), out_(out) {}

  // x (..,in) -> (..,out); x_bf16: x already rounded to bf16 (bf16_input), shared with other linears
  Var operator()(Graph& g, const Var& x, const TensorView& x_bf16 = {}) const {
    return ops::linear(g, x, reg_->var(w_), reg_->bf16_value(w_), x_bf16);
  }
  // x rounded to bf16 once for the linears that read it, where their products run in bf16 (ops::bf16_input)
  TensorView bf16_input(Graph& g, const Var& x) const { return ops::bf16_input(g, x); }
  // room for that rounding of an x (s, dtype), for the op that makes x to fill (ops::bf16_input_buffer)
  TensorView bf16_input_buffer(Graph& g, const Shape& s, DType dtype) const {
    return ops::bf16_input_buffer(g, s, dtype);
  }
  Var weight() const { return reg_->var(w_); }
  int64_t in() const { return in_; }
  int64_t out() const { return out_; }

 private:
  const ParamRegistry* reg_ = nullptr;
  ParamId w_ = -1;
  int64_t in_ = 0, out_ = 0;
};

}  // namespace blt::nn
