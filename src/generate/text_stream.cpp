// Stop-string and UTF-8 holdback.
#include "generate/text_stream.h"

#include <algorithm>

namespace blt::gen {

namespace {
// Length of the UTF-8 sequence a lead byte announces (1 for ASCII and for bytes that cannot lead).
size_t sequence_length(unsigned char b) {
  if (b >= 0xF0 && b <= 0xF4) return 4;
  if (b >= 0xE0) return b <= 0xEF ? 3 : 1;
  if (b >= 0xC2) return 2;
  return 1;
}

// The end of the longest prefix of s[0, end) that does not stop inside an incomplete multi-byte sequence.
size_t complete_end(std::string_view s, size_t begin, size_t end) {
  for (size_t i = end; i > begin && end - i < 4;) {
    --i;
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: look further back for its lead
    return i + sequence_length(b) > end ? i : end;
  }
  return end;
}
}  // namespace

TextStream::TextStream(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

bool TextStream::push(unsigned char b, bool opens_patch) {
  text_.push_back(static_cast<char>(b));
  flags_.push_back(opens_patch);
  for (const std::string& s : stops_)
    if (text_.size() >= s.size() && text_.compare(text_.size() - s.size(), s.size(), s) == 0) {
      text_.resize(text_.size() - s.size());
      flags_.resize(text_.size());
      stopped_ = true;
      return true;
    }
  return false;
}

std::string_view TextStream::take(bool at_end) {
  size_t end = text_.size();
  if (!at_end && !stopped_) {
    // Hold back the longest suffix that could still grow into a stop string.
    size_t hold = 0;
    for (const std::string& s : stops_)
      for (size_t n = std::min(s.size() - 1, text_.size()); n > hold; --n)
        if (text_.compare(text_.size() - n, n, s, 0, n) == 0) {
          hold = n;
          break;
        }
    end = complete_end(text_, released_, text_.size() - hold);
  }
  from_ = released_;
  to_ = std::max(end, released_);
  released_ = to_;
  return std::string_view(text_).substr(from_, to_ - from_);
}

}  // namespace blt::gen
