// ParamRegistry layout and initialisation.
#include "nn/params.h"

#include "blas/gemm_bf16.h"

namespace blt::nn {

namespace {

[[noreturn]] void too_many(const std::string& name, const Shape& shape) {
  throw ShapeError("[params] '" + name + "' " + shape.str() + ": the total parameter count overflows int64");
}

}  // namespace

ParamId ParamRegistry::declare(const std::string& name, Shape shape, Init init) {
  if (values_.defined()) throw InternalError("param '" + name + "' declared after allocate()");
  if (index_.count(name)) throw InternalError("param '" + name + "' declared twice");
  // Each tensor starts on a 64-byte boundary. Offsets and the total are checked before they are
  // stored, so a huge declaration throws instead of wrapping the layout.
  const int64_t align = static_cast<int64_t>(kAlign / dtype_size(dtype_));
  const int64_t numel = shape.numel();  // itself overflow-checked
  int64_t padded = 0, end = 0;
  if (__builtin_add_overflow(numel_, align - 1, &padded)) too_many(name, shape);
  const int64_t offset = padded / align * align;
  if (__builtin_add_overflow(offset, numel, &end)) too_many(name, shape);
  int64_t bytes = 0;  // the arena's size in bytes must fit too
  if (__builtin_mul_overflow(end, static_cast<int64_t>(dtype_size(dtype_)), &bytes)) too_many(name, shape);
  params_.push_back(ParamInfo{name, shape, offset, init});
  index_[name] = static_cast<ParamId>(params_.size() - 1);
  numel_ = end;
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

void ParamRegistry::enable_bf16_mirror() {
  if (dtype_ != DType::F32)
    throw ConfigError("[params] a bf16 weight mirror needs float32 parameters, these are " +
                      std::string(dtype_name(dtype_)));
  BLT_ASSERT(values_.defined(), "allocate() not called");
  if (!mirror_.defined()) mirror_ = Tensor::empty(Shape{numel_}, DType::BF16);
  refresh_bf16_mirror();
}

void ParamRegistry::refresh_bf16_mirror() const {
  if (!mirror_.defined()) return;
  blas::to_bf16(values_.data<float>(), mirror_.data<bf16>(), numel_);
}

TensorView ParamRegistry::bf16_value(ParamId id) const {
  if (!mirror_.defined()) return {};
  const ParamInfo& p = params_.at(id);
  return TensorView(mirror_.data<bf16>() + p.offset, p.shape, DType::BF16);
}

TensorView ParamRegistry::grad(ParamId id) const {
  if (!grads_.defined()) return {};
  const ParamInfo& p = params_.at(id);
  return TensorView(static_cast<char*>(grads_.view().raw()) + p.offset * dtype_size(dtype_), p.shape, dtype_);
}

}  // namespace blt::nn
