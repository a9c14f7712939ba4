// Named activations for layer-by-layer diffing against a reference: model
// code calls g.trace("global_out", x); with no Tracer attached (the default)
// that is a pointer test and nothing else. Tests attach a Tracer that keeps
// copies; `--trace` dumps them to a safetensors file.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace blt {

class Tracer {
 public:
  virtual ~Tracer() = default;
  virtual void record(std::string_view name, const TensorView& value) = 0;
};

// Keeps a copy of every traced tensor by name (the last one wins).
class TraceRecorder : public Tracer {
 public:
  void record(std::string_view name, const TensorView& value) override {
    Tensor copy = Tensor::empty(value.shape(), value.dtype());
    copy.view().copy_from(value);
    tensors_[std::string(name)] = copy;
  }
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }

 private:
  std::map<std::string, Tensor> tensors_;
};

}  // namespace blt
