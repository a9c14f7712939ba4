// GradPool size classes and free lists; GradSlot's lazy creation.
#include "core/grad_pool.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace blt {

// bytes (B) -> units u = ceil(B / kAlign) rounded up to m·2^e, 8 <= m < 16 (or e = 0, m < 16).
GradPool::Class GradPool::size_class(size_t bytes) {
  const size_t units = std::max<size_t>(1, (bytes + kAlign - 1) / kAlign);
  int e = std::max(0, static_cast<int>(std::bit_width(units)) - 4);
  size_t m = (units + (size_t{1} << e) - 1) >> e;
  if (m == 16) {  // rounding carried into the next octave
    m = 8;
    ++e;
  }
  return Class{e * 8 + static_cast<int>(m), (m << e) * kAlign};
}

void* GradPool::acquire(size_t bytes, bool zeroed) {
  const Class c = size_class(bytes);
  void* block = free_[c.index];
  if (block) {
    std::memcpy(&free_[c.index], block, sizeof(void*));  // pop: the next block is stored in this one
  } else {
    block = arena_.alloc(c.bytes);
    taken_ += c.bytes;
    peak_ = std::max(peak_, taken_);
  }
  if (zeroed) std::memset(block, 0, bytes);
  return block;
}

void GradPool::release(void* block, size_t bytes) {
  const Class c = size_class(bytes);
  std::memcpy(block, &free_[c.index], sizeof(void*));  // push
  free_[c.index] = block;
}

void GradPool::reset() {
  free_.fill(nullptr);
  arena_.reset();
  taken_ = 0;
}

void* GradSlot::data() {
  if (!data_) {
    BLT_ASSERT(!released_, "gradient read after its producer's backward released it");
    data_ = pool_->acquire(bytes_);
  }
  return data_;
}

void* GradSlot::data_to_overwrite() {
  BLT_ASSERT(!data_ && !released_, "gradient to overwrite after it was created or released");
  data_ = pool_->acquire(bytes_, false);
  return data_;
}

void GradSlot::release() {
  if (data_) pool_->release(data_, bytes_);
  data_ = nullptr;
  released_ = true;
}

}  // namespace blt
