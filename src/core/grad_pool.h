// GradPool: the memory of op outputs' gradients during backward, and GradSlot,
// one output's gradient created on first use. Blocks come from the pool's own
// Arena and go back to size-class free lists when released, so a later
// gradient of a similar size reuses the same pages: the pool's footprint is
// the most gradient bytes live at once, not their sum. Classes round a size up
// to an eighth of an octave (at most 12.5% slack), so steps whose shapes vary a
// little (patch counts) still reuse each other's blocks. reset() drops the
// lists with the arena; after warm-up the pool allocates nothing from the heap. Large blocks are
// zeroed by the OpenMP threads together.
#pragma once

#include <array>
#include <cstddef>

#include "core/arena.h"

namespace blt {

class GradPool {
 public:
  explicit GradPool(size_t initial_bytes = size_t{64} << 10) : arena_(initial_bytes) {}

  // A 64-byte aligned block of at least `bytes`, zeroed unless `zeroed` is false (its first writer overwrites
  // it), valid until release() or reset().
  void* acquire(size_t bytes, bool zeroed = true);
  // Returns a block acquire(bytes) gave (same `bytes`) to its size class's free list.
  void release(void* block, size_t bytes);
  // Forgets every block (the arena rewinds); the high-water mark is kept.
  void reset();

  // The most bytes the pool has taken from its arena within one step, over all steps so far.
  size_t bytes_peak() const { return peak_; }
  size_t heap_allocations() const { return arena_.heap_allocations(); }

 private:
  // Units of kAlign bytes are rounded to m·2^e with m < 16: class e·8 + m.
  static constexpr int kClasses = 8 * 64;
  struct Class {
    int index;
    size_t bytes;
  };
  static Class size_class(size_t bytes);

  Arena arena_;
  std::array<void*, kClasses> free_{};  // heads of intrusive lists (the next pointer is a block's first word)
  size_t taken_ = 0;                    // bytes taken from the arena this step
  size_t peak_ = 0;
};

// The gradient of one op output (and of its reshape/slice views), in the
// activation arena: no memory until data() is first called, released by the
// producer's backward (Graph::release_grad) once it has read it.
class GradSlot {
 public:
  GradSlot(GradPool* pool, size_t bytes) : pool_(pool), bytes_(bytes) {}

  // The buffer, created zeroed on the first call.
  void* data();
  // Whether data() or data_to_overwrite() has created the buffer.
  bool created() const { return data_ != nullptr; }
  // The buffer created unzeroed, for a writer that overwrites all of it (only before created()).
  void* data_to_overwrite();
  size_t bytes() const { return bytes_; }
  void release();

 private:
  GradPool* pool_;
  size_t bytes_;
  void* data_ = nullptr;
  bool released_ = false;
};

}  // namespace blt
