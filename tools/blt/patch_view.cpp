// Patch rendering. UTF-8 characters are found once over the whole sequence
// (a valid character must be all bytes, no special id inside); each patch is
// then printed on its own, so a character that a boundary cuts is escaped
// rather than silently glued back together.
#include "tools/blt/patch_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "data/tokenizer.h"

namespace blt::cli {

namespace {

bool is_byte(int32_t t) {
  return t >= data::kOffset && t < data::kVocabSize;
}
unsigned char byte_of(int32_t t) {
  return static_cast<unsigned char>(t - data::kOffset);
}

std::string hex_escape(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", b);
  return buf;
}

// "⟨name⟩": how special ids and the unseen next token are shown.
std::string angled(const std::string& name) {
  return "\xE2\x9F\xA8" + name + "\xE2\x9F\xA9";  // U+27E8, U+27E9
}

std::string special_marker(int32_t t) {
  switch (t) {
    case data::kBoeId:
      return angled("BOE");
    case data::kBosId:
      return angled("BOS");
    case data::kEosId:
      return angled("EOS");
    case data::kBpeId:
      return angled("BPE");
    default:
      return angled("id " + std::to_string(t));
  }
}

// A one-byte character as printed: controls and the backslash escaped.
std::string ascii_visible(unsigned char b) {
  switch (b) {
    case '\n':
      return "\\n";
    case '\t':
      return "\\t";
    case '\r':
      return "\\r";
    case '\\':
      return "\\\\";
    default:
      break;
  }
  if (b < 0x20 || b == 0x7F) return hex_escape(b);
  return std::string(1, static_cast<char>(b));
}

// For each position, the start of the well-formed UTF-8 character that covers it (-1: none, i.e. a special
// id or an ill-formed byte). A character starting at i has its length in len[i].
struct Chars {
  std::vector<int64_t> owner;
  std::vector<int> len;
};
Chars find_chars(std::span<const int32_t> tok) {
  const size_t n = tok.size();
  Chars c{std::vector<int64_t>(n, -1), std::vector<int>(n, 0)};
  for (size_t i = 0; i < n; ++i) {
    if (c.owner[i] >= 0 || !is_byte(tok[i])) continue;
    const unsigned char b = byte_of(tok[i]);
    const size_t want = b < 0x80                   ? 1
                        : (b >= 0xC2 && b <= 0xDF) ? 2
                        : (b >= 0xE0 && b <= 0xEF) ? 3
                        : (b >= 0xF0 && b <= 0xF4) ? 4
                                                   : 0;
    if (want == 0 || i + want > n) continue;
    std::string s;
    for (size_t k = i; k < i + want && is_byte(tok[k]); ++k) s.push_back(static_cast<char>(byte_of(tok[k])));
    if (s.size() != want || !data::is_valid_utf8(s)) continue;
    c.len[i] = static_cast<int>(want);
    for (size_t k = i; k < i + want; ++k) c.owner[k] = static_cast<int64_t>(i);
  }
  return c;
}

void check_shapes(std::span<const int32_t> tokens, std::span<const int32_t> lengths, size_t n_entropies) {
  int64_t total = 0;
  for (int32_t l : lengths) {
    if (l < 0) throw ShapeError("[render_patches] negative patch length " + std::to_string(l));
    total += l;
  }
  const auto n = static_cast<int64_t>(tokens.size());
  if (total != n && total != n + 1)
    throw ShapeError("[render_patches] patch lengths sum to " + std::to_string(total) + ", expected " +
                     std::to_string(n) + " or " + std::to_string(n + 1) + " (tokens " + std::to_string(n) +
                     ")");
  if (n_entropies != 0 && n_entropies != tokens.size())
    throw ShapeError("[render_patches] entropies (" + std::to_string(n_entropies) + ") vs tokens (" +
                     std::to_string(n) + ")");
}

// ANSI 256-colour ramp from green (low entropy) through yellow to red (high).
std::string color_code(double h, double scale) {
  static constexpr int kRamp[] = {46, 82, 118, 154, 190, 226, 220, 214, 208, 202, 196};
  constexpr int kSteps = static_cast<int>(std::size(kRamp)) - 1;
  const double f = std::isfinite(h) ? std::clamp(h / scale, 0.0, 1.0) : 1.0;
  return "\x1b[38;5;" + std::to_string(kRamp[static_cast<int>(std::lround(f * kSteps))]) + "m";
}

// The display text of tokens [s, e) (e <= L).
std::string render_span(std::span<const int32_t> tok, const Chars& c, size_t s, size_t e) {
  std::string out, invalid;
  auto flush = [&] {
    if (!invalid.empty()) out += data::printable(invalid);  // U+FFFD per ill-formed subsequence
    invalid.clear();
  };
  for (size_t i = s; i < e;) {
    if (!is_byte(tok[i])) {
      flush();
      out += special_marker(tok[i]);
      ++i;
      continue;
    }
    const unsigned char b = byte_of(tok[i]);
    const int64_t o = c.owner[i];
    if (o < 0) {
      invalid.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    flush();
    const auto o_end = static_cast<size_t>(o) + static_cast<size_t>(c.len[static_cast<size_t>(o)]);
    if (static_cast<size_t>(o) < s || o_end > e) {  // a character cut by a patch boundary
      out += hex_escape(b);
      ++i;
    } else if (o_end - i == 1) {
      out += ascii_visible(b);
      ++i;
    } else {
      for (; i < o_end; ++i) out.push_back(static_cast<char>(byte_of(tok[i])));
    }
  }
  flush();
  return out;
}

}  // namespace

std::string patch_separator(bool color) {
  return color ? std::string("\x1b[90m") + kPatchSeparator + "\x1b[0m" : std::string(kPatchSeparator);
}

std::string render_patches(std::span<const int32_t> tokens, std::span<const int32_t> lengths,
                           std::span<const float> entropies, const PatchViewOptions& opt) {
  check_shapes(tokens, lengths, entropies.size());
  const Chars chars = find_chars(tokens);
  const size_t n = tokens.size();
  const double scale = opt.color_scale > 0 && std::isfinite(opt.color_scale) ? opt.color_scale : 4.0;
  std::string out;
  size_t s = 0;
  bool first = true;
  for (int32_t l : lengths) {
    if (l == 0) continue;
    const size_t e = s + static_cast<size_t>(l);
    if (!first) out += patch_separator(opt.color);
    first = false;
    const float opened_by =
        s >= 1 ? entropies.empty() ? std::nanf("") : entropies[s - 1] : opt.entropy_before;
    const bool colored = opt.color && !entropies.empty() && !std::isnan(opened_by);
    if (colored) out += color_code(opened_by, scale);
    out += render_span(tokens, chars, s, std::min(e, n));
    if (e > n) out += angled("next");  // include_next_token: the unseen next token
    if (colored) out += "\x1b[0m";
    s = e;
  }
  return out;
}

std::vector<std::string> patch_texts(std::span<const int32_t> tokens, std::span<const int32_t> lengths) {
  check_shapes(tokens, lengths, 0);
  std::vector<std::string> out;
  size_t s = 0;
  for (int32_t l : lengths) {
    if (l == 0) continue;
    const size_t e = std::min(s + static_cast<size_t>(l), tokens.size());
    out.push_back(data::printable(data::decode(tokens.subspan(s, e - s))));
    s += static_cast<size_t>(l);
  }
  return out;
}

std::string format_lengths(std::span<const int32_t> lengths) {
  std::string out;
  for (int32_t l : lengths) {
    if (!out.empty()) out += ' ';
    out += std::to_string(l);
  }
  return out;
}

}  // namespace blt::cli
