// Arena: the per-step bump allocator for activations, gradients and saved
// buffers. A step allocates from it and reset() rewinds it; after the first
// step has shown the peak, reset() merges the chunks into one block of that
// size, so later steps of the same shape allocate nothing from the heap.
// Sizes are checked before any arithmetic: a request that would wrap throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace blt {

class Arena {
 public:
  explicit Arena(size_t initial_bytes = size_t{1} << 20);

  // The largest request alloc() accepts: PTRDIFF_MAX rounded down to kAlign, so
  // no rounding or chunk-size arithmetic on an accepted size can wrap.
  static constexpr size_t kMaxBytes = static_cast<size_t>(PTRDIFF_MAX) / kAlign * kAlign;

  // Uninitialised, 64-byte aligned. blt::Error for more than kMaxBytes (never a
  // wrapped, too-small block); std::bad_alloc if the heap refuses.
  void* alloc(size_t bytes);
  // As alloc(); the byte count numel·dtype_size is overflow-checked.
  TensorView empty(Shape shape, DType dtype) {
    return TensorView(alloc(checked_nbytes(shape, dtype)), shape, dtype);
  }
  TensorView zeros(Shape shape, DType dtype) {
    TensorView v = empty(shape, dtype);
    v.zero();
    return v;
  }

  // Rewinds to empty; everything handed out before is invalid afterwards.
  void reset();

  // Number of heap blocks obtained so far (tests check it stops growing).
  size_t heap_allocations() const { return heap_allocations_; }

 private:
  struct Chunk {
    std::unique_ptr<Storage> storage;
    size_t used = 0;
  };
  std::vector<Chunk> chunks_;
  size_t current_ = 0;
  size_t used_total_ = 0;
  size_t peak_ = 0;
  size_t heap_allocations_ = 0;

  void add_chunk(size_t min_bytes);
};

}  // namespace blt
