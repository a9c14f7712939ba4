// TextStream: what a generation row may show. A multi-byte UTF-8 character
// fed byte by byte is released only once complete (take(true) releases what
// is held); a completed stop string ends the row and is not in text(); a
// partial stop match is held back and released when it diverges; stops that
// overlap each other or themselves; patch flags travel with their bytes. A
// randomized stream checks the invariants against a direct definition.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "generate/text_stream.h"

namespace blt::test {
namespace {

// Feeds `bytes` one at a time, collecting every take(); returns the concatenation (take(true) at the end).
struct Fed {
  std::vector<std::string> chunks;  // one per pushed byte (what take() released right after it)
  std::string all;                  // every chunk, then take(true)
  bool stopped = false;
};

Fed feed(gen::TextStream& s, std::string_view bytes) {
  Fed f;
  for (char c : bytes) {
    f.stopped = s.push(static_cast<unsigned char>(c), false);
    f.chunks.emplace_back(s.take(f.stopped));
    f.all += f.chunks.back();
    if (f.stopped) break;
  }
  if (!f.stopped) f.all += s.take(true);
  return f;
}

TEST(TextStream, MultiByteCharacterIsReleasedWhole) {
  for (const std::string ch : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {  // é, €, 😀
    gen::TextStream s;
    ASSERT_FALSE(s.push('a', false));
    EXPECT_EQ(s.take(), "a");
    for (size_t i = 0; i + 1 < ch.size(); ++i) {
      ASSERT_FALSE(s.push(static_cast<unsigned char>(ch[i]), false));
      EXPECT_EQ(s.take(), "") << ch.size() << "-byte character, after byte " << i;
    }
    ASSERT_FALSE(s.push(static_cast<unsigned char>(ch.back()), false));
    EXPECT_EQ(s.take(), ch) << ch.size() << "-byte character";
    EXPECT_EQ(s.text(), "a" + ch);
  }
}

TEST(TextStream, TwoCharactersBackToBack) {
  gen::TextStream s;
  const std::string text = "\xE2\x82\xAC\xC3\xA9";  // €é
  std::vector<std::string> got;
  for (char c : text) {
    s.push(static_cast<unsigned char>(c), false);
    got.emplace_back(s.take());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"", "", "\xE2\x82\xAC", "", "\xC3\xA9"}));
}

TEST(TextStream, TakeAtEndReleasesAnIncompleteCharacter) {
  gen::TextStream s;
  for (char c : std::string("x\xE2\x82")) s.push(static_cast<unsigned char>(c), false);
  EXPECT_EQ(s.take(), "x");
  EXPECT_EQ(s.take(true), "\xE2\x82");
  EXPECT_EQ(s.take(true), "");
  EXPECT_EQ(s.text(), "x\xE2\x82");
}

TEST(TextStream, InvalidBytesAreNotHeldForever) {
  // A continuation byte without a lead and a byte that can never lead (0xFF) pass through.
  gen::TextStream s;
  s.push(0x80, false);
  EXPECT_EQ(s.take(), "\x80");
  s.push(0xFF, false);
  EXPECT_EQ(s.take(), "\xFF");
  // A lead byte followed by ASCII: the broken sequence is released with the ASCII byte.
  s.push(0xE2, false);
  EXPECT_EQ(s.take(), "");
  s.push('z', false);
  EXPECT_EQ(s.take(), "\xE2z");
}

TEST(TextStream, StopStringEndsTheRowAndIsExcluded) {
  gen::TextStream s({"END"});
  const Fed f = feed(s, "abENDxyz");
  EXPECT_TRUE(f.stopped);
  EXPECT_EQ(f.chunks.size(), 5u) << "the row must end on the byte completing the stop";
  EXPECT_EQ(s.text(), "ab");
  EXPECT_EQ(f.all, "ab");
  EXPECT_EQ(s.patch_starts().size(), 2u);
}

TEST(TextStream, PartialStopIsHeldThenReleasedWhenItDiverges) {
  gen::TextStream s({"END"});
  const Fed f = feed(s, "xENq");
  EXPECT_FALSE(f.stopped);
  EXPECT_EQ(f.chunks, (std::vector<std::string>{"x", "", "", "ENq"}));
  EXPECT_EQ(s.text(), "xENq");
}

TEST(TextStream, PartialStopAtTheEndIsReleasedByTakeAtEnd) {
  gen::TextStream s({"END"});
  const Fed f = feed(s, "abEN");
  EXPECT_FALSE(f.stopped);
  EXPECT_EQ(f.chunks.back(), "");
  EXPECT_EQ(f.all, "abEN");
}

TEST(TextStream, OverlappingStops) {
  {  // "xyz" is pending when "yq" completes: the earlier held "x" is text, "yq" is not.
    gen::TextStream s({"xyz", "yq"});
    const Fed f = feed(s, "axyq!");
    EXPECT_TRUE(f.stopped);
    EXPECT_EQ(s.text(), "ax");
    EXPECT_EQ(f.all, "ax");
  }
  {  // A self-overlapping stop: "abaab" holds "ab", then "aba", and "abab" completes after 7 bytes.
    gen::TextStream s({"abab"});
    const Fed f = feed(s, "abaabab");
    EXPECT_TRUE(f.stopped);
    EXPECT_EQ(f.chunks.size(), 7u);
    EXPECT_EQ(s.text(), "aba");
    EXPECT_EQ(f.all, "aba");
  }
  {  // A stop inside another: the shorter completes first.
    gen::TextStream s({"hello", "ell"});
    const Fed f = feed(s, "shello");
    EXPECT_TRUE(f.stopped);
    EXPECT_EQ(f.chunks.size(), 5u);  // s h e l l
    EXPECT_EQ(s.text(), "sh");
  }
  {  // "aab" after "aaa": the first 'a' can no longer be part of a stop.
    gen::TextStream s({"aab"});
    const Fed f = feed(s, "aaab");
    EXPECT_TRUE(f.stopped);
    EXPECT_EQ(f.chunks, (std::vector<std::string>{"", "", "a", ""}));
    EXPECT_EQ(s.text(), "a");
  }
}

TEST(TextStream, EmptyStopIsIgnored) {
  gen::TextStream s({""});
  const Fed f = feed(s, "abc");
  EXPECT_FALSE(f.stopped);
  EXPECT_EQ(f.chunks, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(TextStream, StopMadeOfAMultiByteCharacter) {
  gen::TextStream s({"\xE2\x82\xAC"});  // €
  const Fed f = feed(s,
                     "1\xE2\x82\xAC"
                     "2");
  EXPECT_TRUE(f.stopped);
  EXPECT_EQ(s.text(), "1");
  EXPECT_EQ(f.all, "1");
}

TEST(TextStream, PatchFlagsFollowTheBytes) {
  gen::TextStream s({"ZZ"});
  const std::string text = "ab\xC3\xA9ZcZZ";
  const std::vector<char> flags = {1, 0, 1, 0, 1, 1, 0, 1};
  std::string got_text;
  std::vector<char> got_flags;
  bool stopped = false;
  for (size_t i = 0; i < text.size() && !stopped; ++i) {
    stopped = s.push(static_cast<unsigned char>(text[i]), flags[i]);
    const std::string chunk(s.take(stopped));
    const auto f = s.take_flags();
    ASSERT_EQ(f.size(), chunk.size()) << "after byte " << i;
    got_text += chunk;
    got_flags.insert(got_flags.end(), f.begin(), f.end());
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(got_text, "ab\xC3\xA9Zc");
  EXPECT_EQ(got_flags, std::vector<char>(flags.begin(), flags.begin() + 6));
  EXPECT_EQ(s.patch_starts(), got_flags);
  EXPECT_EQ(s.text(), got_text);
}

// Random streams over a small alphabet with multi-byte characters and random stops: the released text is
// always a prefix of the final text, chunks never end inside a character, and text() is the input up to the
// first place where it ends with a stop, minus that stop.
TEST(TextStream, RandomStreamsAgreeWithTheDefinition) {
  const std::vector<std::string> alphabet = {"a", "b", " ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
  Rng rng(17);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng.uniform() * static_cast<double>(n)) % n; };
  int n_stopped = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string input;
    for (int i = 0; i < 30; ++i) input += alphabet[pick(alphabet.size())];
    std::vector<std::string> stops;
    for (size_t k = pick(3) + 1; k > 0; --k) {
      std::string stop;
      for (size_t i = pick(3) + 1; i > 0; --i) stop += alphabet[pick(4)];
      stops.push_back(stop);
    }
    // The definition: the first end position where the input ends with some stop.
    std::string expected = input;
    bool expect_stop = false;
    for (size_t end = 1; end <= input.size() && !expect_stop; ++end)
      for (const std::string& stop : stops)
        if (end >= stop.size() && input.compare(end - stop.size(), stop.size(), stop) == 0) {
          expected = input.substr(0, end - stop.size());
          expect_stop = true;
          break;
        }
    gen::TextStream s(stops);
    const Fed f = feed(s, input);
    ASSERT_EQ(f.stopped, expect_stop) << "trial " << trial;
    ASSERT_EQ(s.text(), expected) << "trial " << trial;
    ASSERT_EQ(f.all, expected) << "trial " << trial;
    std::string released;
    for (const std::string& c : f.chunks) {
      released += c;
      ASSERT_EQ(expected.compare(0, released.size(), released), 0)
          << "trial " << trial << ": released text was retracted";
      if (!c.empty()) {
        // The chunk ends on a complete character: the last lead byte's sequence fits.
        size_t i = c.size();
        while (i > 0 && (static_cast<unsigned char>(c[i - 1]) & 0xC0) == 0x80) --i;
        ASSERT_GT(i, 0u) << "trial " << trial << ": chunk starts inside a character";
        const auto lead = static_cast<unsigned char>(c[i - 1]);
        const size_t len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        ASSERT_EQ(c.size() - (i - 1), len) << "trial " << trial << ": chunk splits a character";
      }
    }
    n_stopped += expect_stop;
  }
  EXPECT_GT(n_stopped, 50);
  EXPECT_LT(n_stopped, 390);
}

}  // namespace
}  // namespace blt::test
