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

void ParamRegistry::allocate_as_stored(const std::vector<TensorView>& external, std::shared_ptr<const void> owner) {
  if (trainable_ || dtype_ != DType::F32)
    throw ConfigError("[params] weights used as stored need an inference (non-trainable) float32 registry");
  if (values_.defined() || as_stored_) throw InternalError("[params] allocated twice");
  BLT_ASSERT(external.size() == params_.size(), "allocate_as_stored: one view (or none) per parameter");
  // Element offsets into the float32 or bf16 arena (each tensor on a 64-byte boundary), -1 when viewed elsewhere.
  std::vector<int64_t> offset(params_.size(), -1);
  int64_t n_f32 = 0, n_bf16 = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamInfo& p = params_[i];
    const DType t = as_stored_dtype(p.shape);
    if (external[i].defined()) {
      BLT_ASSERT(t == DType::BF16 && external[i].dtype() == t && external[i].shape() == p.shape,
                 "allocate_as_stored: '" + p.name + "' viewed as " + external[i].shape().str());
      continue;
    }
    int64_t& n = t == DType::BF16 ? n_bf16 : n_f32;
    const int64_t align = static_cast<int64_t>(kAlign / dtype_size(t));
    offset[i] = (n + align - 1) / align * align;
    n = offset[i] + p.shape.numel();
  }
  values_ = Tensor::zeros(Shape{n_f32}, DType::F32);
  stored_bf16_ = Tensor::zeros(Shape{n_bf16}, DType::BF16);
  for (size_t i = 0; i < params_.size(); ++i) {
    const DType t = as_stored_dtype(params_[i].shape);
    const Tensor& arena = t == DType::BF16 ? stored_bf16_ : values_;
    stored_views_.push_back(offset[i] < 0 ? external[i]
                                          : TensorView(static_cast<char*>(arena.view().raw()) +
                                                           offset[i] * static_cast<int64_t>(dtype_size(t)),
                                                       params_[i].shape, t));
  }
  stored_owner_ = std::move(owner);
  as_stored_ = true;
}

void ParamRegistry::initialize(Rng& rng) {
  if (as_stored_) throw ConfigError("[params] weights used as stored cannot be initialised (allocate() instead)");
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
  if (as_stored_) return stored_views_.at(static_cast<size_t>(id));
  const ParamInfo& p = params_.at(id);
  BLT_ASSERT(values_.defined(), "allocate() not called");
  return TensorView(static_cast<char*>(values_.view().raw()) + p.offset * dtype_size(dtype_), p.shape, dtype_);
}

void ParamRegistry::enable_bf16_mirror() {
  if (as_stored_) throw ConfigError("[params] weights used as stored are bf16 already: no mirror");
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

Precision ParamRegistry::precision() const {
  return has_bf16_mirror() || (as_stored_ && blas::has_bf16_matmul()) ? Precision::BF16 : Precision::F32;
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
