// Storage allocation and TensorView reshaping/slicing.
#include "core/tensor.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>

namespace blt {

size_t checked_nbytes(const Shape& shape, DType dtype) {
  size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(shape.numel()), dtype_size(dtype), &bytes))
    throw Error("[tensor] " + shape.str() + " " + std::string(dtype_name(dtype)) +
                ": the byte count overflows size_t");
  return bytes;
}

Storage::Storage(size_t bytes) : bytes_(bytes), release_(nullptr) {
  if (bytes > std::numeric_limits<size_t>::max() - kAlign)
    throw Error("[storage] cannot allocate " + std::to_string(bytes) + " bytes: rounding up to " +
                std::to_string(kAlign) + " overflows size_t");
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  data_ = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
  if (!data_) throw std::bad_alloc();
}

std::shared_ptr<Storage> Storage::zeroed(size_t bytes) {
  if (bytes < kLazyZeroBytes) {
    auto s = std::make_shared<Storage>(bytes);
    std::memset(s->data(), 0, bytes);
    return s;
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return std::make_shared<Storage>(p, bytes, [](void* data, size_t n) { munmap(data, n); });
}

Storage::~Storage() {
  if (release_)
    release_(data_, bytes_);
  else
    std::free(data_);
}

TensorView TensorView::reshape(Shape s) const {
  if (s.numel() != numel())
    throw ShapeError("[reshape] " + shape_.str() + " -> " + s.str() + ": element counts differ");
  return TensorView(data_, s, dtype_);
}

TensorView TensorView::slice(int64_t begin, int64_t end) const {
  if (shape_.rank() == 0 || begin < 0 || end < begin || end > shape_[0])
    throw ShapeError("[slice] rows [" + std::to_string(begin) + "," + std::to_string(end) + ") of " + shape_.str());
  int64_t row = shape_[0] == 0 ? 0 : numel() / shape_[0];
  return TensorView(static_cast<char*>(data_) + begin * row * dtype_size(dtype_), shape_.with_dim(0, end - begin),
                    dtype_);
}

void TensorView::copy_from(const TensorView& src) const {
  if (!(src.shape() == shape_) || src.dtype() != dtype_)
    throw ShapeError("[copy] " + src.shape().str() + " " + std::string(dtype_name(src.dtype())) + " into " +
                     shape_.str() + " " + std::string(dtype_name(dtype_)));
  std::memcpy(data_, src.raw(), nbytes());
}

Tensor Tensor::empty(Shape shape, DType dtype) {
  auto storage = std::make_shared<Storage>(checked_nbytes(shape, dtype));
  TensorView v(storage->data(), shape, dtype);
  return Tensor(std::move(storage), v);
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  auto storage = Storage::zeroed(checked_nbytes(shape, dtype));
  TensorView v(storage->data(), shape, dtype);
  return Tensor(std::move(storage), v);
}

Tensor Tensor::from(std::span<const float> values, Shape shape) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    throw ShapeError("[tensor] " + std::to_string(values.size()) + " values for shape " + shape.str());
  Tensor t = empty(shape, DType::F32);
  std::memcpy(t.data<float>(), values.data(), values.size() * sizeof(float));
  return t;
}

}  // namespace blt
