// Arena chunk management.
#include "core/arena.h"

#include <algorithm>

namespace blt {

Arena::Arena(size_t initial_bytes) { add_chunk(initial_bytes); }

void Arena::add_chunk(size_t min_bytes) {
  size_t last = chunks_.empty() ? 0 : chunks_.back().storage->bytes();
  size_t bytes = std::max(min_bytes, last * 2);
  chunks_.push_back(Chunk{std::make_unique<Storage>(bytes), 0});
  ++heap_allocations_;
}

void* Arena::alloc(size_t bytes) {
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  while (true) {
    Chunk& c = chunks_[current_];
    if (c.used + rounded <= c.storage->bytes()) {
      void* p = static_cast<char*>(c.storage->data()) + c.used;
      c.used += rounded;
      used_total_ += rounded;
      peak_ = std::max(peak_, used_total_);
      return p;
    }
    if (current_ + 1 == chunks_.size()) add_chunk(rounded);
    ++current_;
  }
}

void Arena::reset() {
  if (chunks_.size() > 1) {
    // Merge: one block as large as the peak seen, so the next step fits in it.
    size_t total = 0;
    for (const Chunk& c : chunks_) total += c.storage->bytes();
    chunks_.clear();
    add_chunk(std::max(total, peak_));
  }
  for (Chunk& c : chunks_) c.used = 0;
  current_ = 0;
  used_total_ = 0;
}

}  // namespace blt
