// IncrementalPatcher. With include_next_token the prefix of n tokens covers
// positions 0..n, position n being the next token. Pushing token n adds
// position n+1, whose start depends only on tokens/entropies up to n, so
// every mode is decided locally; the one exception is bpe, whose last-position
// rule makes position n a start only once token n arrives (handled by moving
// the last boundary). max_patch_length splits the last patch as it grows.
#include "patching/incremental.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "patching/patcher.h"

namespace blt::patching {

IncrementalPatcher::IncrementalPatcher(const PatcherArgs& args) : args_(args) {
  args_.validate("[IncrementalPatcher] patcher args");
  if (args_.max_patch_length)
    max_len_ = static_cast<int32_t>(std::min<int64_t>(*args_.max_patch_length, INT32_MAX));
}

void IncrementalPatcher::reset() {
  n_ = 0;
  lengths_.clear();
  prev_token_ = 0;
  prev_entropy_ = 0;
}

void IncrementalPatcher::take_closed(std::vector<int32_t>& out) {
  BLT_ASSERT(args_.patching_mode != PatchingMode::Bpe, "take_closed in bpe mode");
  if (lengths_.size() < 2) return;
  out.insert(out.end(), lengths_.begin(), lengths_.end() - 1);
  lengths_.erase(lengths_.begin(), lengths_.end() - 1);
}

void IncrementalPatcher::open_patch() {
  lengths_.push_back(1);
}

void IncrementalPatcher::extend_patch() {
  if (max_len_ > 0 && lengths_.back() == max_len_)
    lengths_.push_back(1);
  else
    ++lengths_.back();
}

void IncrementalPatcher::shrink_patch() {
  if (lengths_.back() == 1)
    lengths_.pop_back();  // the chunk before it is a full max_patch_length chunk of the same patch
  else
    --lengths_.back();
}

bool IncrementalPatcher::next_is_start(int32_t token, float entropy) const {
  const int64_t q = n_ + 1;  // the position being added; token n_ = `token`, H[n_] = `entropy`
  const float t = static_cast<float>(args_.threshold);
  switch (args_.patching_mode) {
    case PatchingMode::Byte:
      return true;
    case PatchingMode::Static:
      return q % args_.static_patch_size() == 0;
    case PatchingMode::Bpe:
      return q == 1;  // later starts appear one push late (see push)
    case PatchingMode::Space:
      return q == 1 || (space_delimiter(token) && !space_delimiter(prev_token_)) || token < kByteOffset;
    case PatchingMode::Entropy:
      if (q == 1) return true;
      if (args_.monotonicity) return q == 2 || entropy - prev_entropy_ > t;
      if (args_.threshold_add) {
        if (q == 2) return true;
        if (q == 3) return false;
        return entropy - prev_entropy_ > static_cast<float>(*args_.threshold_add) && entropy > t;
      }
      return entropy > t;
  }
  return false;
}

void IncrementalPatcher::push(int32_t token, float entropy) {
  // bpe: the delimiter at n_-1 was in the last position and ignored; now that token n_ follows it,
  // position n_ starts a patch. At position 0 that start duplicates the forced start 1.
  const bool bpe_late_start =
      args_.patching_mode == PatchingMode::Bpe && n_ >= 1 && prev_token_ == kBpeDelimiterId;
  if (bpe_late_start && n_ == 1)
    throw Error(
        "[IncrementalPatcher] bpe mode: the BPE delimiter (id 3) at position 0 is followed by a token; the "
        "start after it duplicates the forced start at token 1 and gives a zero-length patch (the reference "
        "fails an assertion here)");
  const bool start = next_is_start(token, entropy);
  if (n_ == 0) lengths_.push_back(1);  // position 0 always starts the first patch
  if (bpe_late_start) {
    shrink_patch();
    open_patch();  // position n_ now starts a patch
  }
  if (start)
    open_patch();
  else
    extend_patch();
  prev_token_ = token;
  prev_entropy_ = entropy;
  ++n_;
}

}  // namespace blt::patching
