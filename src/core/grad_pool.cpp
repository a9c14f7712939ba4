// GradPool size classes and free lists; GradSlot's lazy creation.
#include "core/grad_pool.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace blt {

namespace {

// Below this many bytes a block is zeroed on the calling thread (a team costs microseconds).
constexpr size_t kParallelZeroBytes = size_t{1} << 20;

// memset(p, 0, bytes), split into one 64-byte aligned range per thread when the block is large and the
// caller is not already inside a parallel region: one thread does not reach the memory's write bandwidth.
void zero(void* p, size_t bytes) {
  const int threads = omp_get_max_threads();
  if (bytes < kParallelZeroBytes || threads < 2 || omp_in_parallel())
    return static_cast<void>(std::memset(p, 0, bytes));
  const size_t per = (bytes / static_cast<size_t>(threads) + 63) / 64 * 64;
#pragma omp parallel num_threads(threads)
  {
    const size_t b = std::min(bytes, static_cast<size_t>(omp_get_thread_num()) * per),
                 e = std::min(bytes, b + per);
    std::memset(static_cast<char*>(p) + b, 0, e - b);
  }
}

}  // namespace

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
  if (zeroed) zero(block, bytes);
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
