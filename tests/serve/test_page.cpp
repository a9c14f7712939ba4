// The embedded page (serve/page.h): one self-contained document, with the stylesheet and the script
// inlined at build time, nothing loaded from elsewhere, and the element ids the browser test drives.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "serve/page.h"

namespace blt::serve {
namespace {

TEST(Page, IsOneDocumentWithStyleAndScriptInlined) {
  const std::string page(page_html());
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page.find("<style>\n/* The page's look"), std::string::npos);
  EXPECT_NE(page.find("<script>\n// The page's behaviour"), std::string::npos);
  EXPECT_EQ(page.find("<!-- blt:style -->"), std::string::npos);
  EXPECT_EQ(page.find("<!-- blt:script -->"), std::string::npos);
  EXPECT_EQ(page.substr(page.size() - 8), "</html>\n");
}

TEST(Page, LoadsNothingFromElsewhere) {
  const std::string page(page_html());
  // Every src= or href= is a data: URL; no url(...) in the stylesheet, no import.
  const std::regex external(R"re((src|href)\s*=\s*["'](?!data:))re", std::regex::icase);
  EXPECT_FALSE(std::regex_search(page, external));
  EXPECT_EQ(page.find("url("), std::string::npos);
  EXPECT_EQ(page.find("import "), std::string::npos);
}

TEST(Page, HasTheElementsItsTestsDrive) {
  const std::string page(page_html());
  for (const char* id : {"prompt", "max-tokens", "temperature", "seed", "generate", "stop", "patch-mode", "api-key",
                         "output", "sparkline", "sparkline-line", "sparkline-threshold", "rate", "steps-per-byte",
                         "status", "error"})
    EXPECT_NE(page.find("id=\"" + std::string(id) + "\""), std::string::npos) << id;
}

}  // namespace
}  // namespace blt::serve
