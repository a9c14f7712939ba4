// The paper's patching figure as a standalone SVG: next-byte entropy as a
// polyline, the threshold as a dashed line, a vertical mark (and alternating
// shading) at every patch start, and the bytes along the x axis. Each entropy
// H[i] (the uncertainty about byte i+1) is drawn above byte i+1, the byte it
// predicts, so entropy-mode patch starts line up with points above the
// threshold; the last one falls on a "next byte" cell past the text.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace blt::patching {

// bytes (L), entropies (L), patch_lengths (P) summing to L or L+1 (include_next_token; zero-length
// padding allowed) -> an SVG document, 14 px per byte wide. Printable ASCII is drawn as itself
// (XML-escaped), a space as '_', other bytes as two hex digits. Non-finite entropies leave a gap.
// Throws ShapeError for mismatched sizes or lengths with the wrong sum.
std::string patch_svg(std::span<const uint8_t> bytes, std::span<const float> entropies,
                      std::span<const int32_t> patch_lengths, float threshold);

}  // namespace blt::patching
