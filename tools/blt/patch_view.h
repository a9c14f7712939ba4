// Text rendering of a patched token sequence for `blt patch`: the patches
// side by side with a visible separator, special ids as ⟨BOS⟩/⟨EOS⟩/⟨BPE⟩/
// ⟨BOE⟩, control bytes and '\' escaped, and a character cut by a patch
// boundary shown as \xNN on each side, so that what is printed is exactly how
// the bytes were split. Invalid UTF-8 becomes U+FFFD only here, at printing
// (data::printable semantics). Optionally each patch is coloured (ANSI 256)
// by the entropy that opened it: H[s-1] for a patch starting at position s.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace blt::cli {

inline constexpr const char* kPatchSeparator = "\xE2\x96\x8F";  // U+258F LEFT ONE EIGHTH BLOCK

struct PatchViewOptions {
  bool color = false;      // ANSI colours (a terminal)
  double color_scale = 4;  // entropy (nats) drawn fully red, e.g. 2 x threshold; 0 is green
  // Rendering a piece of a longer sequence (a streamed `blt patch`): the entropy H[s-1] that opened the
  // piece's first patch, so it is coloured as in the whole; NaN for the start of the sequence.
  float entropy_before = std::numeric_limits<float>::quiet_NaN();
};

// What render_patches puts between two patches (grey on a terminal).
std::string patch_separator(bool color);

// tokens (L), lengths (P) summing to L or L+1 (the last position then is the next, unseen token, shown as
// ⟨next⟩), entropies (L) or empty (no colours) -> one line of text (no trailing newline).
// Throws ShapeError for lengths with another sum or entropies of another size.
std::string render_patches(std::span<const int32_t> tokens, std::span<const int32_t> lengths,
                           std::span<const float> entropies, const PatchViewOptions& opt);

// The text of each non-empty patch for machine-readable output: its bytes (special ids dropped, as the
// reference's decode) with invalid UTF-8 replaced by U+FFFD (so a character cut by a boundary shows as
// U+FFFD on both sides). Same shape checks as render_patches.
std::vector<std::string> patch_texts(std::span<const int32_t> tokens, std::span<const int32_t> lengths);

// "1 1 1 15 3 ...": the lengths alone, when the tokens are unknown.
std::string format_lengths(std::span<const int32_t> lengths);

}  // namespace blt::cli
