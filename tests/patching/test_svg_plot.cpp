// patch_svg: well-formed XML (balanced tags, escaped text, quoted attributes),
// one start mark per non-empty patch, width growing with the length, errors
// for inconsistent inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "patching/patcher.h"
#include "patching/svg_plot.h"

namespace blt::test {
namespace {

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// A minimal XML checker: tags balance and nest, attribute values are quoted, and text has no raw '<' or
// stray '&' (every '&' starts one of the five predefined entities).
::testing::AssertionResult well_formed(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    if (s[i] == '&') {
      bool ok = false;
      for (const char* ent : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
        ok = ok || s.compare(i, std::char_traits<char>::length(ent), ent) == 0;
      if (!ok) return ::testing::AssertionFailure() << "bad entity at " << i;
      ++i;
      continue;
    }
    if (s[i] == '>') return ::testing::AssertionFailure() << "stray '>' at " << i;
    if (s[i] != '<') {
      ++i;
      continue;
    }
    // A tag: scan to its closing '>' honouring quotes.
    size_t j = i + 1;
    char quote = 0;
    for (; j < s.size(); ++j) {
      if (quote) {
        if (s[j] == quote)
          quote = 0;
        else if (s[j] == '<')
          return ::testing::AssertionFailure() << "'<' inside an attribute at " << j;
      } else if (s[j] == '"' || s[j] == '\'') {
        quote = s[j];
      } else if (s[j] == '=' && j + 1 < s.size() && s[j + 1] != '"' && s[j + 1] != '\'') {
        return ::testing::AssertionFailure() << "unquoted attribute at " << j;
      } else if (s[j] == '>') {
        break;
      }
    }
    if (j >= s.size()) return ::testing::AssertionFailure() << "unterminated tag at " << i;
    std::string tag = s.substr(i + 1, j - i - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \n/"));
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return ::testing::AssertionFailure()
               << "</" << name << "> does not close " << (stack.empty() ? "anything" : stack.back());
      stack.pop_back();
    } else if (!self_closing) {
      stack.push_back(name);
    }
    i = j + 1;
  }
  if (!stack.empty()) return ::testing::AssertionFailure() << "<" << stack.back() << "> never closed";
  return ::testing::AssertionSuccess();
}

TEST(PatchSvg, WellFormedWithOneMarkPerPatch) {
  const std::string text = "Daenerys <Targaryen> & \"Game\" of 'Thrones'\n\xC3\xA9!";
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  std::vector<float> h(bytes.size());
  for (size_t i = 0; i < h.size(); ++i) h[i] = 0.5f + 2.5f * static_cast<float>((i * 7) % 11) / 11.0f;
  std::vector<int32_t> tok(bytes.size());
  for (size_t i = 0; i < tok.size(); ++i) tok[i] = bytes[i] + 4;
  patching::PatcherArgs a;
  for (bool inc : {false, true}) {
    const auto lengths = patching::patch_lengths(a, tok, h, inc);
    const std::string svg = patching::patch_svg(bytes, h, lengths, static_cast<float>(a.threshold));
    EXPECT_TRUE(well_formed(svg));
    EXPECT_EQ(count(svg, "class=\"patch-start\""), lengths.size());
    EXPECT_EQ(count(svg, "class=\"byte\""), bytes.size());
    EXPECT_EQ(count(svg, "class=\"threshold\""), 1u);
    EXPECT_EQ(count(svg, "<polyline"), 1u);
    EXPECT_NE(svg.find("&lt;"), std::string::npos);
    EXPECT_NE(svg.find("&amp;"), std::string::npos);
    EXPECT_NE(svg.find(">0A<"), std::string::npos);  // newline as hex
    EXPECT_NE(svg.find(">C3<"), std::string::npos);
    EXPECT_NE(svg.find(">_<"), std::string::npos);  // visible space
    EXPECT_NE(svg.find("entropy"), std::string::npos);
  }
}

TEST(PatchSvg, WidthGrowsAndPaddingAndGaps) {
  auto width = [](const std::string& svg) {
    const size_t p = svg.find("width=\"") + 7;
    return std::stod(svg.substr(p, svg.find('"', p) - p));
  };
  const std::vector<uint8_t> small(10, 'a'), big(300, 'a');
  const std::string s1 =
      patching::patch_svg(small, std::vector<float>(10, 1.0f), std::vector<int32_t>{1, 9, 0}, 1.3f);
  const std::string s2 =
      patching::patch_svg(big, std::vector<float>(300, 1.0f), std::vector<int32_t>{1, 300}, 1.3f);
  EXPECT_GT(width(s2), 20 * width(s1) / 2);
  EXPECT_EQ(count(s1, "class=\"patch-start\""), 2u);  // the zero-length padding has no mark
  std::vector<float> h(10, 1.0f);
  h[4] = std::nanf("");
  const std::string s3 = patching::patch_svg(small, h, std::vector<int32_t>{1, 9}, 1.3f);
  EXPECT_TRUE(well_formed(s3));
  EXPECT_EQ(count(s3, "<polyline"), 2u);
  EXPECT_EQ(s3.find("nan"), std::string::npos);
}

TEST(PatchSvg, RejectsInconsistentInputs) {
  const std::vector<uint8_t> b(4, 'a');
  EXPECT_THROW(patching::patch_svg(b, std::vector<float>(3, 1.0f), std::vector<int32_t>{1, 3}, 1.0f),
               ShapeError);
  EXPECT_THROW(patching::patch_svg(b, std::vector<float>(4, 1.0f), std::vector<int32_t>{1, 5}, 1.0f),
               ShapeError);
  EXPECT_THROW(patching::patch_svg(b, std::vector<float>(4, 1.0f), std::vector<int32_t>{5, -1}, 1.0f),
               ShapeError);
}

}  // namespace
}  // namespace blt::test
