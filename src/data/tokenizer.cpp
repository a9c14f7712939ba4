// Byte tokenizer, UTF-8 scanning for display, and BPE-delimited encoding.
// One UTF-8 scanner (utf8_step) serves is_valid_utf8, printable and
// drop_invalid_utf8, so all three agree on what an ill-formed subsequence is.
#include "data/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>

#include "core/error.h"

namespace blt::data {

namespace {

// UTF-8 of U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's whitespace mark.
constexpr std::string_view kMeta = "\xE2\x96\x81";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct Utf8Step {
  bool valid;  // a well-formed sequence starts at the position
  size_t len;  // its length; when invalid, the length of the maximal subpart (>= 1)
};

// Table 3-7 of the Unicode standard: the allowed range of the second byte
// depends on the lead byte; later bytes are always 80..BF.
Utf8Step utf8_step(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {true, 1};
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {false, 1};  // continuation byte, C0/C1 (overlong) or F5..FF
  }
  for (size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) return {false, k};
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) return {false, k};
  }
  return {true, n};
}

bool all_meta(std::string_view s) {
  if (s.size() % kMeta.size() != 0) return false;
  for (size_t i = 0; i < s.size(); i += kMeta.size())
    if (s.substr(i, kMeta.size()) != kMeta) return false;
  return true;  // "" counts as all-meta, as Python's all() over no characters
}

bool all_spaces(const std::vector<std::string>& strs) {
  for (const auto& s : strs)
    for (char c : s)
      if (c != ' ') return false;
  return true;
}

std::string replace_meta(std::string_view s, std::string_view with) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, kMeta.size()) == kMeta) {
      out += with;
      i += kMeta.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A byte-fallback piece "<0xNN>" (whole string, even number of hex digits) -> its bytes;
// anything else -> its own UTF-8 bytes.
std::string piece_bytes(const std::string& s) {
  if (s.size() >= 6 && s.compare(0, 3, "<0x") == 0 && s.back() == '>' && (s.size() - 4) % 2 == 0) {
    std::string out;
    for (size_t i = 3; i + 1 < s.size(); i += 2) {
      const int h = hex_value(s[i]), l = hex_value(s[i + 1]);
      if (h < 0 || l < 0) return s;
      out += static_cast<char>(h * 16 + l);
    }
    return out;
  }
  return s;
}

}  // namespace

std::vector<int32_t> encode(std::string_view bytes, bool add_bos, bool add_eos) {
  std::vector<int32_t> ids;
  ids.reserve(bytes.size() + 2);
  if (add_bos) ids.push_back(kBosId);
  for (char c : bytes) ids.push_back(byte_to_id(static_cast<unsigned char>(c)));
  if (add_eos) ids.push_back(kEosId);
  return ids;
}

std::string decode(std::span<const int32_t> ids) {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id >= kVocabSize)
      throw Error("[decode] id " + std::to_string(id) + " at position " + std::to_string(i) +
                  " is outside the vocabulary [0, " + std::to_string(kVocabSize) + ")");
    if (id >= kOffset) out += static_cast<char>(id - kOffset);
  }
  return out;
}

std::span<const int32_t> cut_at_eos(std::span<const int32_t> ids) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == kEosId) return ids.first(i + 1);
  return ids;
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const Utf8Step st = utf8_step(bytes, i);
    if (!st.valid) return false;
    i += st.len;
  }
  return true;
}

std::string printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const Utf8Step st = utf8_step(bytes, i);
    if (st.valid)
      out.append(bytes.substr(i, st.len));
    else
      out.append(kReplacement);
    i += st.len;
  }
  return out;
}

std::string drop_invalid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const Utf8Step st = utf8_step(bytes, i);
    if (st.valid) out.append(bytes.substr(i, st.len));
    i += st.len;
  }
  return out;
}

std::vector<int32_t> bpe_delimited_from_pieces(std::string_view text, std::span<const std::string> pieces,
                                               bool add_bos, bool add_eos) {
  // Slot 0 holds the merged leading all-"▁" pieces (possibly ""), then the other pieces.
  size_t n_lead = 0;
  std::string lead;
  while (n_lead < pieces.size() && all_meta(pieces[n_lead])) lead += pieces[n_lead++];
  std::vector<std::string> slots;
  slots.reserve(pieces.size() - n_lead + 1);
  slots.push_back(std::move(lead));
  slots.insert(slots.end(), pieces.begin() + static_cast<std::ptrdiff_t>(n_lead), pieces.end());

  const size_t n_leading_spaces = std::min(text.find_first_not_of(' '), text.size());
  std::vector<std::string> strs;  // non-empty strings, "▁" already resolved
  for (size_t i = 0; i < slots.size(); ++i) {
    std::string s;
    if (strs.size() <= 1 && all_spaces(strs) && !all_meta(slots[i]))
      s = replace_meta(slots[i], "");  // the first real piece loses all its "▁"
    else if (i == 0)
      s = std::string(n_leading_spaces, ' ');  // slot 0 is all "▁" here
    else
      s = replace_meta(slots[i], " ");
    if (!s.empty()) strs.push_back(std::move(s));
  }

  std::vector<int32_t> ids;
  if (add_bos) ids.push_back(kBosId);
  for (const auto& s : strs) {
    ids.push_back(kBpeId);
    for (char c : piece_bytes(s)) ids.push_back(byte_to_id(static_cast<unsigned char>(c)));
  }
  if (add_eos) ids.push_back(kEosId);
  return ids;
}

std::vector<int32_t> encode_bpe_delimited(std::string_view text,
                                          const sentencepiece::SentencePieceProcessor& sp, bool add_bos,
                                          bool add_eos) {
  const std::string clean = drop_invalid_utf8(text);
  std::vector<int> piece_ids;
  const auto status = sp.Encode(clean, &piece_ids);
  if (!status.ok()) throw Error("[encode_bpe_delimited] sentencepiece: " + status.ToString());
  std::vector<std::string> pieces;
  pieces.reserve(piece_ids.size());
  for (int id : piece_ids) pieces.push_back(sp.IdToPiece(id));
  return bpe_delimited_from_pieces(clean, pieces, add_bos, add_eos);
}

void load_sentencepiece(sentencepiece::SentencePieceProcessor& sp, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw IoError(path + ": SentencePiece model not found");
  const auto status = sp.Load(path);
  if (!status.ok()) throw IoError(path + ": cannot load SentencePiece model: " + status.ToString());
}

}  // namespace blt::data
