// Arena: the per-step bump allocator for activations, gradients and saved
// buffers. A step allocates from it and reset() rewinds it; after the first
// step has shown the peak, reset() merges the chunks into one block of that
// size, so later steps of the same shape allocate nothing from the heap.
// Within a step, mark()/rewind() free everything allocated after a mark (an
// inference forward keeps only its running state: core/layer_carry.h).
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

  // Rewinds to empty; everything handed out before is invalid afterwards, and so are marks.
  void reset();

  // A position in the arena: the chunk being filled, its bytes used, and the total in use.
  struct Mark {
    size_t chunk = 0, used = 0, used_total = 0;
    size_t resets = 0;  // reset() calls before the mark was taken: a mark does not survive one
  };
  Mark mark() const { return {current_, chunks_[current_].used, used_total_, resets_}; }
  // Frees everything allocated after `m` (those blocks are invalid afterwards); what came before stays.
  // The chunks stay too, for the allocations that follow.
  void rewind(const Mark& m);

  // The most bytes in use at once since construction (reset() merges the chunks into a block at least this large).
  size_t peak_bytes() const { return peak_; }

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
  size_t resets_ = 0;

  void add_chunk(size_t min_bytes);
};

}  // namespace blt
