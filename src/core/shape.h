// Shape: up to 4 dimensions, outermost first (PyTorch order), row-major.
// numel() is overflow-checked: a shape whose non-zero dimensions multiply past
// INT64_MAX is a ShapeError even when a zero dimension makes it empty, so no
// stride or byte count derived from it can wrap.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/error.h"

namespace blt {

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) {
    if (dims.size() > kMaxRank) throw ShapeError("[shape] rank " + std::to_string(dims.size()) + " > 4");
    for (int64_t d : dims) {
      if (d < 0) throw ShapeError("[shape] negative dimension " + std::to_string(d));
      dims_[rank_++] = d;
    }
  }

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i < 0 ? rank_ + i : i]; }
  int64_t numel() const {
    int64_t n = 1;
    bool empty = false;
    for (int i = 0; i < rank_; ++i) {
      if (dims_[i] == 0)
        empty = true;
      else if (__builtin_mul_overflow(n, dims_[i], &n))
        numel_overflow();
    }
    return empty ? 0 : n;
  }
  // Product of all dimensions but the last: the number of rows of a (.., D) tensor.
  int64_t rows() const { return rank_ == 0 ? 1 : numel() / (dims_[rank_ - 1] == 0 ? 1 : dims_[rank_ - 1]); }
  int64_t last() const { return rank_ == 0 ? 1 : dims_[rank_ - 1]; }

  // The same shape with dimension i (negative: from the end) replaced by d.
  Shape with_dim(int i, int64_t d) const {
    Shape s = *this;
    s.dims_[i < 0 ? rank_ + i : i] = d;
    return s;
  }
  Shape with_last(int64_t d) const { return with_dim(-1, d); }
  // The same shape with one more innermost dimension d.
  Shape appended(int64_t d) const {
    if (rank_ == kMaxRank) throw ShapeError("[shape] cannot append to " + str() + ": rank 4 is the maximum");
    Shape s = *this;
    s.dims_[s.rank_++] = d;
    return s;
  }

  bool operator==(const Shape& o) const {
    if (rank_ != o.rank_) return false;
    for (int i = 0; i < rank_; ++i)
      if (dims_[i] != o.dims_[i]) return false;
    return true;
  }

  // "(2,7,64)"
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < rank_; ++i) s += (i ? "," : "") + std::to_string(dims_[i]);
    return s + ")";
  }

 private:
  [[noreturn]] void numel_overflow() const {
    throw ShapeError("[shape] " + str() + ": the element count overflows int64");
  }

  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace blt
