// RMSNorm module: weight "<prefix>.weight" initialised to ones.
#pragma once

#include "nn/params.h"
#include "ops/rmsnorm.h"

namespace blt::nn {

class RMSNorm {
 public:
  RMSNorm() = default;
  RMSNorm(ParamRegistry& reg, const std::string& prefix, int64_t dim, double eps)
      : reg_(&reg), w_(reg.declare(prefix + ".weight", Shape{dim}, Init::ones())), eps_(eps) {}

  // x (..,dim) -> (..,dim); out_bf16: the output goes there instead, in bf16 (ops::rmsnorm)
  Var operator()(Graph& g, const Var& x, const TensorView& out_bf16 = {}) const {
    return ops::rmsnorm(g, x, reg_->var(w_), eps_, out_bf16);
  }

 private:
  const ParamRegistry* reg_ = nullptr;
  ParamId w_ = -1;
  double eps_ = 1e-5;
};

}  // namespace blt::nn
