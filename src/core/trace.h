// Named activations for layer-by-layer diffing against a reference: model
// code calls g.trace("global_out", x) and, per layer, g.trace(LayerName(
// "local_encoder", l, "out"), h); with no Tracer attached (the default) that
// is a pointer test and nothing else. Tests attach a Tracer that keeps
// copies; `blt eval --trace FILE` dumps them to a safetensors file.
#pragma once

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace blt {

// "<stack>.layers.<l>.<what>" (e.g. "global_transformer.layers.2.out") in a fixed buffer: naming a layer
// allocates nothing, so untraced forwards stay allocation-free.
class LayerName {
 public:
  LayerName(std::string_view stack, int64_t l, std::string_view what) {
    const int n = std::snprintf(buf_, sizeof buf_, "%.*s.layers.%lld.%.*s", static_cast<int>(stack.size()), stack.data(),
                                static_cast<long long>(l), static_cast<int>(what.size()), what.data());
    len_ = n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf_ - 1);
  }
  operator std::string_view() const { return {buf_, len_}; }

 private:
  char buf_[96];
  size_t len_ = 0;
};

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
