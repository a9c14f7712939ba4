// The BLT byte tokenizer: ids BOE=0, BOS=1, EOS=2, BPE=3, byte b -> b+4 (vocab 260),
// and its BPE-delimited variant, where every SentencePiece piece is preceded by BPE=3.
// Key choice: we work on raw bytes, not on text. encode() keeps every byte, invalid
// UTF-8 included, and decode() returns the bytes unchanged; the reference encodes a
// Python str (which cannot hold invalid UTF-8) and decodes with errors="ignore".
// Invalid sequences are only replaced, by U+FFFD, when printing (printable()).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace blt::data {

inline constexpr int32_t kBoeId = 0;   // beginning of entity (patch padding in the reference)
inline constexpr int32_t kBosId = 1;   // beginning of sequence
inline constexpr int32_t kEosId = 2;   // end of sequence
inline constexpr int32_t kBpeId = 3;   // precedes every piece in BPE-delimited encoding
inline constexpr int32_t kPadId = -1;  // data-pipeline padding only, never a model id
inline constexpr int32_t kOffset = 4;  // byte b has id b + kOffset
inline constexpr int32_t kByteUnits = 256;
inline constexpr int32_t kVocabSize = kByteUnits + kOffset;  // V = 260

constexpr int32_t byte_to_id(unsigned char b) {
  return static_cast<int32_t>(b) + kOffset;
}

// bytes (T) -> ids ([BOS] + T + [EOS]): every byte is kept, whatever it is.
std::vector<int32_t> encode(std::string_view bytes, bool add_bos = true, bool add_eos = true);

// ids (N) -> bytes: ids below kOffset (BOE, BOS, EOS, BPE, and PAD=-1) are dropped, the rest
// become bytes id-4 without any UTF-8 check. An id >= 260 throws blt::Error naming it.
std::string decode(std::span<const int32_t> ids);

// The prefix of `ids` up to and including the first EOS (all of `ids` when there is none),
// as the reference's decode(cut_at_eos=True); decode() then drops the EOS itself.
std::span<const int32_t> cut_at_eos(std::span<const int32_t> ids);

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// For terminal display only: `bytes` with each maximal ill-formed subsequence replaced by
// U+FFFD (the Unicode "maximal subpart" policy, as Python's errors="replace").
std::string printable(std::string_view bytes);

// `bytes` without its ill-formed subsequences (Python's decode(errors="ignore")).
std::string drop_invalid_utf8(std::string_view bytes);

// The reference's text2bytes_bpe_delims on already-split pieces (pieces as id_to_piece
// returns them, "▁" for spaces, "<0xNN>" for byte-fallback pieces) -> ids: each piece
// becomes [BPE] + its bytes+4. Leading all-"▁" pieces merge into the text's own leading
// spaces; the first real piece loses all its "▁"; every later "▁" becomes a space.
// `text` is only read for its number of leading spaces.
std::vector<int32_t> bpe_delimited_from_pieces(std::string_view text, std::span<const std::string> pieces,
                                               bool add_bos = true, bool add_eos = true);

// Segments `text` with `sp` (ids, then id_to_piece, as the reference) and applies
// bpe_delimited_from_pieces. Invalid UTF-8 in `text` is dropped first, as a Python str
// could not have held it. A SentencePiece failure throws blt::Error.
std::vector<int32_t> encode_bpe_delimited(std::string_view text,
                                          const sentencepiece::SentencePieceProcessor& sp,
                                          bool add_bos = true, bool add_eos = true);

// Loads a SentencePiece model into `sp`; IoError naming the path when it cannot.
void load_sentencepiece(sentencepiece::SentencePieceProcessor& sp, const std::string& path);

}  // namespace blt::data
