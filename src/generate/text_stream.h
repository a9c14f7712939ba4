// TextStream: what a generation row may show so far. Bytes come in one at a
// time; a byte is released once it can no longer be part of a stop string
// and completes a UTF-8 character (an incomplete multi-byte sequence is held
// until complete, so a streamed chunk never splits a character). A completed
// stop string ends the row and is not part of the text. Each byte carries
// whether it opens a patch (for --show-patches).
#pragma once

#include <string>
#include <span>
#include <string_view>
#include <vector>

namespace blt::gen {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops = {});

  // Appends byte b -> true when a stop string just completed (the row is done).
  bool push(unsigned char b, bool opens_patch);
  // Bytes released since the last call (and their patch flags); at_end releases everything held.
  std::string_view take(bool at_end = false);
  std::span<const char> take_flags() const { return {flags_.data() + from_, flags_.data() + to_}; }

  const std::string& text() const { return text_; }  // every byte kept (a completed stop string removed)
  const std::vector<char>& patch_starts() const { return flags_; }

 private:
  std::vector<std::string> stops_;
  std::string text_;
  std::vector<char> flags_;
  size_t released_ = 0, from_ = 0, to_ = 0;
  bool stopped_ = false;
};

}  // namespace blt::gen
