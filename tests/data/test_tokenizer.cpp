// Byte tokenizer: round trip on random (mostly invalid UTF-8) bytes, special ids,
// printable()'s U+FFFD policy, and BPE-delimited encoding: the oracle fixture from
// given pieces, the leading-space rules, and a real SentencePiece model.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "data/tokenizer.h"
#include "io/json_fields.h"
#include "support/fixtures.h"

namespace blt::test {
namespace {

using data::kBosId;
using data::kBpeId;
using data::kEosId;

std::vector<int32_t> ids_of(std::string_view s) {
  std::vector<int32_t> ids;
  for (char c : s) ids.push_back(static_cast<unsigned char>(c) + 4);
  return ids;
}

TEST(Tokenizer, RoundTripRandomBytes) {
  Rng rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::string bytes(rng.below(300), '\0');
    for (char& c : bytes) c = static_cast<char>(rng.below(256));
    const auto ids = data::encode(bytes);
    ASSERT_EQ(ids.size(), bytes.size() + 2);
    EXPECT_EQ(ids.front(), kBosId);
    EXPECT_EQ(ids.back(), kEosId);
    for (size_t i = 1; i + 1 < ids.size(); ++i) {
      EXPECT_GE(ids[i], 4);
      EXPECT_LT(ids[i], data::kVocabSize);
    }
    EXPECT_EQ(data::decode(ids), bytes);  // every byte kept, invalid UTF-8 included
  }
  EXPECT_EQ(data::decode(data::encode(std::string_view("\x00\xff", 2))), std::string("\x00\xff", 2));
}

TEST(Tokenizer, EncodeFlagsAndIds) {
  EXPECT_EQ(data::encode("ab", false, false), (std::vector<int32_t>{'a' + 4, 'b' + 4}));
  EXPECT_EQ(data::encode("ab", true, false), (std::vector<int32_t>{1, 'a' + 4, 'b' + 4}));
  EXPECT_EQ(data::encode("ab", false, true), (std::vector<int32_t>{'a' + 4, 'b' + 4, 2}));
  EXPECT_EQ(data::encode("", true, true), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(data::byte_to_id(255), 259);
  static_assert(data::kVocabSize == 260 && data::kOffset == 4 && data::kBoeId == 0 && data::kBpeId == 3);
}

TEST(Tokenizer, DecodeDropsSpecialIds) {
  const std::vector<int32_t> ids = {1, 'h' + 4, 0, 'i' + 4, 3, -1, 2, '!' + 4};
  EXPECT_EQ(data::decode(ids), "hi!");
  EXPECT_EQ(data::decode(std::vector<int32_t>{}), "");
}

TEST(Tokenizer, DecodeRejectsIdsOutsideVocab) {
  const std::vector<int32_t> ids = {1, 'a' + 4, 260};
  try {
    data::decode(ids);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("260"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("position 2"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, CutAtEos) {
  const std::vector<int32_t> ids = {1, 'a' + 4, 2, 'b' + 4, 2};
  auto cut = data::cut_at_eos(ids);
  EXPECT_EQ(cut.size(), 3u);
  EXPECT_EQ(data::decode(cut), "a");
  const std::vector<int32_t> no_eos = {1, 'a' + 4};
  EXPECT_EQ(data::cut_at_eos(no_eos).size(), 2u);
}

TEST(Tokenizer, PrintableReplacesInvalidSequences) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  };
  // Expected values follow Python's bytes.decode("utf-8", "replace") (maximal subparts).
  const std::vector<Case> cases = {
      {"plain ascii", "plain ascii"},
      {"h\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E", "h\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E"},  // é € 𝄞
      {"a\xFF"
       "b",
       "a" + fffd + "b"},
      {"\x80", fffd},      // lone continuation byte
      {"\xE2\x82", fffd},  // truncated at the end: one subpart
      {"\xE2\x82"
       "a",
       fffd + "a"},                                     // truncated before ASCII
      {"\xF0\x9F\x98", fffd},                           // truncated 4-byte sequence
      {"\xC0\xAF", fffd + fffd},                        // overlong: C0 is never valid
      {"\xE0\x80\x80", fffd + fffd + fffd},             // overlong 3-byte
      {"\xED\xA0\x80", fffd + fffd + fffd},             // surrogate U+D800
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xF5", fffd},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(data::printable(c.in), c.out) << "input bytes of size " << c.in.size();
    EXPECT_EQ(data::is_valid_utf8(c.in), c.in == c.out);
  }
  EXPECT_EQ(data::drop_invalid_utf8("a\xFF"
                                    "b\xE2\x82"
                                    "c\xE2\x82\xAC"),
            "abc\xE2\x82\xAC");
}

TEST(BpeDelimited, OracleFixtureFromGivenPieces) {
  const auto path = fixture("oracle/tiny_blt_nocross/inputs.json");
  BLT_REQUIRE_FIXTURE(path);
  const auto j = io::read_json_file(path.string());
  const std::string text = j.at("texts").at(0).get<std::string>();
  const auto expected = j.at("tokens").at(0).get<std::vector<int32_t>>();
  ASSERT_EQ(text, "bytes are fun");
  // The fixture's pieces; the first piece may carry "▁" or not, the rules give the same ids.
  for (const std::string first : {"bytes",
                                  "\xE2\x96\x81"
                                  "bytes"}) {
    const std::vector<std::string> pieces = {first,
                                             "\xE2\x96\x81"
                                             "are",
                                             "\xE2\x96\x81"
                                             "f",
                                             "un"};
    EXPECT_EQ(data::bpe_delimited_from_pieces(text, pieces, /*add_bos=*/true, /*add_eos=*/false), expected);
  }
}

TEST(BpeDelimited, LeadingSpaceAndByteRules) {
  const std::string m = "\xE2\x96\x81";  // ▁
  auto cat = [](std::initializer_list<std::vector<int32_t>> parts) {
    std::vector<int32_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  const std::vector<int32_t> B = {kBpeId};
  // Leading all-▁ pieces merge into the text's own leading spaces; the next piece loses its ▁.
  EXPECT_EQ(data::bpe_delimited_from_pieces("  hi there", std::vector<std::string>{m, m, "hi", m + "there"},
                                            false, false),
            cat({B, ids_of("  "), B, ids_of("hi"), B, ids_of(" there")}));
  // Without leading ▁ pieces, the text's leading spaces still become their own piece.
  EXPECT_EQ(data::bpe_delimited_from_pieces(" x", std::vector<std::string>{m + "x"}, false, false),
            cat({B, ids_of(" "), B, ids_of("x")}));
  // A later all-▁ piece is a piece of spaces.
  EXPECT_EQ(data::bpe_delimited_from_pieces("a  b", std::vector<std::string>{"a", m, m + "b"}, true, true),
            cat({{kBosId}, B, ids_of("a"), B, ids_of(" "), B, ids_of(" b"), {kEosId}}));
  // The first real piece loses every ▁, not just the leading one.
  EXPECT_EQ(data::bpe_delimited_from_pieces("ab", std::vector<std::string>{m + "a" + m + "b"}, false, false),
            cat({B, ids_of("ab")}));
  // Byte-fallback pieces are raw bytes.
  EXPECT_EQ(data::bpe_delimited_from_pieces(
                "\xE2\x82\xAC", std::vector<std::string>{"<0xE2>", "<0x82>", "<0xAC>"}, false, false),
            cat({B, {0xE2 + 4}, B, {0x82 + 4}, B, {0xAC + 4}}));
  EXPECT_EQ(data::bpe_delimited_from_pieces("", std::vector<std::string>{}, true, true),
            (std::vector<int32_t>{kBosId, kEosId}));
}

TEST(BpeDelimited, SentencePieceModel) {
  const auto path = shared_dir() / "corpus" / "bpe" / "spm_bpe_4096.model";
  BLT_REQUIRE_FIXTURE(path);
  sentencepiece::SentencePieceProcessor sp;
  data::load_sentencepiece(sp, path.string());
  for (const std::string text : {"bytes are fun", "The quick brown fox jumps over the lazy dog.\n",
                                 "int main() {\n\treturn 0;\n}\n", "Grüße, 世界! \xF0\x9F\x98\x80"}) {
    const auto ids = data::encode_bpe_delimited(text, sp, true, true);
    std::vector<std::string> pieces;
    ASSERT_TRUE(sp.Encode(text, &pieces).ok());
    std::vector<int> piece_ids;
    ASSERT_TRUE(sp.Encode(text, &piece_ids).ok());
    std::vector<std::string> id_pieces;
    for (int id : piece_ids) id_pieces.push_back(sp.IdToPiece(id));
    EXPECT_EQ(ids, data::bpe_delimited_from_pieces(text, id_pieces, true, true));
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids.front(), kBosId);
    EXPECT_EQ(ids.back(), kEosId);
    // One marker per piece (byte-fallback pieces included), and the bytes are the text.
    EXPECT_EQ(std::count(ids.begin(), ids.end(), kBpeId), static_cast<std::ptrdiff_t>(pieces.size())) << text;
    EXPECT_EQ(data::decode(ids), text);
    std::vector<int32_t> no_markers;
    std::copy_if(ids.begin(), ids.end(), std::back_inserter(no_markers),
                 [](int32_t t) { return t != kBpeId; });
    EXPECT_EQ(no_markers, data::encode(text, true, true));
  }
  EXPECT_THROW(data::load_sentencepiece(sp, "/nonexistent/model.model"), IoError);
}

}  // namespace
}  // namespace blt::test
