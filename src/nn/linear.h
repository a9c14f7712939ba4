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

  // x (..,in) -> (..,out)
  Var operator()(Graph& g, const Var& x) const { return ops::linear(g, x, reg_->var(w_), reg_->bf16_value(w_)); }
  Var weight() const { return reg_->var(w_); }
  int64_t in() const { return in_; }
  int64_t out() const { return out_; }

 private:
  const ParamRegistry* reg_ = nullptr;
  ParamId w_ = -1;
  int64_t in_ = 0, out_ = 0;
};

}  // namespace blt::nn
