// ParamRegistry layout and initialisation.
#include "nn/params.h"

namespace blt::nn {

ParamId ParamRegistry::declare(const std::string& name, Shape shape, Init init) {
  if (values_.defined()) throw InternalError("param '" + name + "' declared after allocate()");
  if (index_.count(name)) throw InternalError("param '" + name + "' declared twice");
  // Each tensor starts on a 64-byte boundary.
  const int64_t align = static_cast<int64_t>(kAlign / dtype_size(dtype_));
  const int64_t offset = (numel_ + align - 1) / align * align;
  params_.push_back(ParamInfo{name, shape, offset, init});
  index_[name] = static_cast<ParamId>(params_.size() - 1);
  numel_ = offset + shape.numel();
  return static_cast<ParamId>(params_.size() - 1);
}

void ParamRegistry::allocate() {
  values_ = Tensor::zeros(Shape{numel_}, dtype_);
  if (trainable_) grads_ = Tensor::zeros(Shape{numel_}, dtype_);
}

void ParamRegistry::initialize(Rng& rng) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamInfo& p = params_[i];
    TensorView v = value(static_cast<ParamId>(i));
    dispatch(dtype_, [&]<class T>() {
      T* d = v.data<T>();
      for (int64_t j = 0; j < v.numel(); ++j) {
        switch (p.init.kind) {
          case Init::Kind::Ones: d[j] = T(1); break;
          case Init::Kind::Zeros: d[j] = T(0); break;
          case Init::Kind::TruncNormal: d[j] = static_cast<T>(rng.truncated_normal(p.init.std, p.init.lo, p.init.hi));
        }
      }
    });
  }
}

std::optional<ParamId> ParamRegistry::find(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

TensorView ParamRegistry::value(ParamId id) const {
  const ParamInfo& p = params_.at(id);
  BLT_ASSERT(values_.defined(), "allocate() not called");
  return TensorView(static_cast<char*>(values_.view().raw()) + p.offset * dtype_size(dtype_), p.shape, dtype_);
}

TensorView ParamRegistry::grad(ParamId id) const {
  if (!grads_.defined()) return {};
  const ParamInfo& p = params_.at(id);
  return TensorView(static_cast<char*>(grads_.view().raw()) + p.offset * dtype_size(dtype_), p.shape, dtype_);
}

}  // namespace blt::nn
