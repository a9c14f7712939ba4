// Tensor (owning) and TensorView (non-owning): float32/float64/bf16, row-major,
// contiguous, up to 4 dims, storage aligned to 64 bytes.
// Ownership is explicit: a Tensor holds its Storage through a shared_ptr; a
// TensorView is a pointer + shape + dtype and never owns (arena activations,
// parameter slices, mmapped weights).
#pragma once

#include <cstring>
#include <memory>
#include <span>

#include "core/dtype.h"
#include "core/shape.h"

namespace blt {

constexpr size_t kAlign = 64;

// numel(shape) * dtype_size(dtype), overflow-checked: blt::Error naming the shape
// when the byte count does not fit size_t (a numel that fits int64 may not, x4 or x8).
size_t checked_nbytes(const Shape& shape, DType dtype);

// An aligned heap buffer, or memory owned by someone else with a release hook (mmap).
class Storage {
 public:
  // 64-byte aligned, uninitialised; blt::Error when rounding `bytes` up to kAlign would wrap.
  explicit Storage(size_t bytes);
  Storage(void* data, size_t bytes, void (*release)(void*, size_t)) : data_(data), bytes_(bytes), release_(release) {}
  // 64-byte aligned and zero-filled. From kLazyZeroBytes up the zeros are the kernel's fresh anonymous
  // pages, committed (and cleared) on first touch: a big buffer of which a run uses a prefix (a KV cache
  // sized for the whole context) costs only the pages it writes, in time and in RSS.
  static std::shared_ptr<Storage> zeroed(size_t bytes);
  static constexpr size_t kLazyZeroBytes = size_t{1} << 20;
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_;
  size_t bytes_;
  void (*release_)(void*, size_t);
};

class TensorView {
 public:
  TensorView() = default;
  TensorView(void* data, Shape shape, DType dtype) : data_(data), shape_(shape), dtype_(dtype) {}

  template <class T>
  T* data() const {
    BLT_ASSERT(dtype_of<T>() == dtype_, "tensor is " + std::string(dtype_name(dtype_)));
    return static_cast<T*>(data_);
  }
  void* raw() const { return data_; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool defined() const { return data_ != nullptr; }

  // Same memory, another shape of equal element count.
  TensorView reshape(Shape s) const;
  // Rows [begin, end) of the outermost dimension.
  TensorView slice(int64_t begin, int64_t end) const;
  void zero() const {
    if (data_) std::memset(data_, 0, nbytes());
  }
  void copy_from(const TensorView& src) const;
  // Element i as double, whatever the dtype (tests, printing; bf16 widens exactly).
  double at(int64_t i) const {
    return dispatch_storage(dtype_, [&]<class T>() -> double {
      const T v = static_cast<const T*>(data_)[i];
      if constexpr (std::is_same_v<T, bf16>)
        return to_float(v);
      else
        return v;
    });
  }

 private:
  void* data_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::F32;
};

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised; the byte count is checked_nbytes(shape, dtype).
  static Tensor empty(Shape shape, DType dtype = DType::F32);
  static Tensor zeros(Shape shape, DType dtype = DType::F32);
  static Tensor from(std::span<const float> values, Shape shape);
  // A Tensor that keeps `owner` alive while it views `view` (e.g. mmapped file data).
  Tensor(std::shared_ptr<Storage> owner, TensorView view) : storage_(std::move(owner)), view_(view) {}

  const TensorView& view() const { return view_; }
  operator const TensorView&() const { return view_; }
  template <class T>
  T* data() const {
    return view_.data<T>();
  }
  const Shape& shape() const { return view_.shape(); }
  DType dtype() const { return view_.dtype(); }
  int64_t numel() const { return view_.numel(); }
  bool defined() const { return view_.defined(); }
  double at(int64_t i) const { return view_.at(i); }

 private:
  std::shared_ptr<Storage> storage_;
  TensorView view_;
};

}  // namespace blt
