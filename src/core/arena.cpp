// Arena chunk management.
#include "core/arena.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace blt {

Arena::Arena(size_t initial_bytes) { add_chunk(initial_bytes); }

namespace {

[[noreturn]] void too_large(size_t bytes) {
  throw Error("[arena] cannot allocate " + std::to_string(bytes) + " bytes: more than the maximum of " +
              std::to_string(Arena::kMaxBytes));
}

}  // namespace

// Every size here is at most kMaxBytes (< SIZE_MAX / 2), so doubling and the
// rounding in Storage cannot wrap.
void Arena::add_chunk(size_t min_bytes) {
  if (min_bytes > kMaxBytes) too_large(min_bytes);
  size_t last = chunks_.empty() ? 0 : chunks_.back().storage->bytes();
  size_t bytes = std::max(min_bytes, std::min(last * 2, kMaxBytes));
  chunks_.push_back(Chunk{std::make_unique<Storage>(bytes), 0});
  ++heap_allocations_;
}

void* Arena::alloc(size_t bytes) {
  if (bytes > kMaxBytes) too_large(bytes);
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;  // <= kMaxBytes: it is a multiple of kAlign
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
    // Merge: one block as large as the peak seen (the most bytes in use at once), so a step that allocates
    // as this one did fits in it; the chunks' sum would add their unused tails (up to half, as they double).
    chunks_.clear();
    add_chunk(std::min(peak_, kMaxBytes));  // more than kMaxBytes at once: further chunks, as now
  }
  for (Chunk& c : chunks_) c.used = 0;
  current_ = 0;
  used_total_ = 0;
  ++resets_;
}

void Arena::rewind(const Mark& m) {
  BLT_ASSERT(m.resets == resets_ && m.chunk <= current_ && m.used_total <= used_total_ &&
                 (m.chunk < current_ || m.used <= chunks_[current_].used),
             "[arena] rewind to a mark that is not behind the current position");
  for (size_t c = m.chunk + 1; c <= current_; ++c) chunks_[c].used = 0;
  chunks_[m.chunk].used = m.used;
  current_ = m.chunk;
  used_total_ = m.used_total;
}

}  // namespace blt
