// The page in headless Chromium against the real server (an ephemeral loopback port, a tiny random BLT
// patched by the bundled entropy model models/entropy-kjv, so patches follow real text): it loads
// without console errors or warnings; a prompt streams text into patch boxes that match the server's own
// completion (same seed), with the sparkline drawn; "patch this text" shows the boxes of POST /v1/patch;
// an HTTP error shows the server's message, and Stop ends a stream (of a model that never emits EOS). A
// screenshot of the streamed output goes to <build dir>/serve_page.png. Skipped, with the reason, where
// chromium or chromedriver is missing (scripts/setup.sh installs both).
#include <gtest/gtest.h>

#include "serve_fixture.h"
#include "support/webdriver.h"

#ifndef BLT_TEST_BUILD_DIR
#define BLT_TEST_BUILD_DIR "."
#endif

namespace blt::serve {
namespace {

using namespace std::chrono_literals;
using test::WebDriver;

constexpr const char* kPrompt = "In the beginning God created the heaven and the earth. And the earth was";

// A tiny random BLT patched by the bundled entropy model (its threshold).
modeldir::BltModel make_kjv_patched_blt() {
  modeldir::BltModel b = test::entropy_blt(256, "In the beginning God created the heaven and the earth.");
  b.entropy = modeldir::EntropyModel::load("models/entropy-kjv");
  b.patcher = b.entropy->patcher;
  return b;
}

const modeldir::BltModel& kjv_patched_blt() {
  static const modeldir::BltModel m = make_kjv_patched_blt();
  return m;
}

// kjv_patched_blt() that never ends a greedy generation: EOS's output row is zero, so its logit is 0 while
// some of the 259 others of a random model are positive.
const modeldir::BltModel& endless_blt() {
  static const modeldir::BltModel m = [] {
    modeldir::BltModel b = make_kjv_patched_blt();
    const auto id = b.params->find("local_decoder.output.weight");
    EXPECT_TRUE(id.has_value());
    if (id) {
      const TensorView w = b.params->value(*id);  // (vocab, dim)
      const int64_t dim = w.shape()[1];
      std::fill_n(w.data<float>() + b.args.eos_id * dim, dim, 0.f);
    }
    return b;
  }();
  return m;
}

// POST path with a JSON body -> the JSON answer (a failed expectation unless HTTP 200).
nlohmann::json post_json(const test::TestServer& s, const std::string& path, const nlohmann::json& body) {
  const auto [status, text] = s.post(path, body.dump());
  EXPECT_EQ(status, 200) << path << ": " << text;
  return nlohmann::json::parse(text, nullptr, false);
}

// Console entries at WARNING or SEVERE, one per line.
std::string problems(const nlohmann::json& log) {
  std::string out;
  for (const auto& e : log)
    if (e.value("level", "") == "SEVERE" || e.value("level", "") == "WARNING")
      out += e.value("level", "") + ": " + e.value("message", "") + "\n";
  return out;
}

std::string text_of(WebDriver& wd, const std::string& id) {
  return wd.execute("return document.getElementById(arguments[0]).textContent", {id}).get<std::string>();
}

// The concatenated text of the .patch boxes and how many there are.
std::pair<std::string, size_t> boxes(WebDriver& wd) {
  const auto r = wd.execute("const b = [...document.querySelectorAll('#output .patch')];"
                            "return [b.map((x) => x.textContent).join(''), b.length];");
  return {r[0].get<std::string>(), r[1].get<size_t>()};
}

// Boxes the page draws for per-byte patch starts: one per start, plus one when the first byte continues a patch.
size_t expected_boxes(const nlohmann::json& starts) {
  size_t n = 0;
  for (const auto& s : starts) n += s.get<int>() == 1;
  return n + (!starts.empty() && starts[0].get<int>() == 0);
}

void wait_for_status(WebDriver& wd, const std::string& prefix) {
  const bool done = wd.wait_until([&] { return text_of(wd, "status").rfind(prefix, 0) == 0; }, 15s);
  ASSERT_TRUE(done) << "status '" << text_of(wd, "status") << "', error '" << text_of(wd, "error") << "'";
}

TEST(PageBrowser, StreamsPatchesAndPatchesText) {
  const std::string missing = test::browser_missing();
  if (!missing.empty()) GTEST_SKIP() << "no browser: " << missing;
  const test::TestServer s({}, &kjv_patched_blt());
  WebDriver wd;
  wd.navigate("http://127.0.0.1:" + std::to_string(s.port()) + "/");
  EXPECT_EQ(problems(wd.browser_log()), "");

  const std::string prompt = wd.find("#prompt");
  wd.clear(prompt);
  wd.send_keys(prompt, kPrompt);
  const std::string max_tokens = wd.find("#max-tokens");
  wd.clear(max_tokens);
  wd.send_keys(max_tokens, "40");
  wd.click(wd.find("#generate"));
  ASSERT_NO_FATAL_FAILURE(wait_for_status(wd, "done"));

  // The same request, not streamed: the page shows its text, one box per patch.
  const nlohmann::json ref = post_json(s, "/v1/completions", {{"prompt", kPrompt}, {"max_tokens", 40}, {"temperature", 0.8},
                                                        {"seed", 1}, {"blt", {{"patches", true}}}});
  const auto& choice = ref["choices"][0];
  const auto [shown, n_boxes] = boxes(wd);
  EXPECT_EQ(shown, choice["text"].get<std::string>());
  EXPECT_EQ(n_boxes, expected_boxes(choice["blt"]["patches"]["starts"]));
  EXPECT_GE(n_boxes, 1u);
  EXPECT_EQ(text_of(wd, "bytes"), std::to_string(choice["blt"]["patches"]["starts"].size()));
  const auto spark = wd.execute("const p = document.getElementById('sparkline-line').getAttribute('points');"
                                "return [p.split(' ').filter((x) => x).length,"
                                "document.getElementById('sparkline-threshold').getAttribute('visibility')];");
  EXPECT_EQ(spark[0].get<size_t>(), choice["blt"]["patches"]["entropies"].size());
  EXPECT_GE(spark[0].get<size_t>(), 2u);
  EXPECT_EQ(spark[1].get<std::string>(), "visible");
  EXPECT_NE(text_of(wd, "steps-per-byte"), "–");
  EXPECT_NE(text_of(wd, "rate"), "–");
  EXPECT_EQ(text_of(wd, "error"), "");
  wd.screenshot(std::filesystem::path(BLT_TEST_BUILD_DIR) / "serve_page.png");

  // Patch mode on the prompt box's text.
  wd.click(wd.find("#patch-mode"));
  ASSERT_NO_FATAL_FAILURE(wait_for_status(wd, "patched"));
  const nlohmann::json patched = post_json(s, "/v1/patch", {{"text", kPrompt}});
  const auto [patch_text, patch_boxes] = boxes(wd);
  EXPECT_EQ(patch_text, kPrompt);
  ASSERT_EQ(patched["starts"].size(), std::string(kPrompt).size());
  EXPECT_EQ(patch_boxes, expected_boxes(patched["starts"]));
  EXPECT_GE(patch_boxes, 2u);
  EXPECT_EQ(problems(wd.browser_log()), "");
}

TEST(PageBrowser, ShowsTheServersErrorMessageAndStops) {
  const std::string missing = test::browser_missing();
  if (!missing.empty()) GTEST_SKIP() << "no browser: " << missing;
  serve::ServerOptions opt;
  opt.max_tokens_limit = 10000;
  const test::TestServer s(opt, &endless_blt());
  WebDriver wd;
  wd.navigate("http://127.0.0.1:" + std::to_string(s.port()) + "/");
  const std::string max_tokens = wd.find("#max-tokens");
  wd.clear(max_tokens);
  wd.send_keys(max_tokens, "9999999");  // over max_tokens_limit: HTTP 400 naming the field
  wd.click(wd.find("#generate"));
  ASSERT_NO_FATAL_FAILURE(wait_for_status(wd, "error"));
  const std::string error = text_of(wd, "error");
  EXPECT_EQ(error.rfind("HTTP 400: ", 0), 0u) << error;
  EXPECT_NE(error.find("max_tokens"), std::string::npos) << error;
  EXPECT_EQ(wd.execute("return document.getElementById('error').hidden").get<bool>(), false);

  // A long greedy generation that no EOS ends (seconds), stopped once it streams: no error, the
  // stream ends short.
  wd.clear(max_tokens);
  wd.send_keys(max_tokens, std::to_string(opt.max_tokens_limit));
  const std::string temperature = wd.find("#temperature");
  wd.clear(temperature);
  wd.send_keys(temperature, "0");
  wd.click(wd.find("#generate"));
  ASSERT_NO_FATAL_FAILURE(wait_for_status(wd, "streaming"));
  wd.click(wd.find("#stop"));
  ASSERT_NO_FATAL_FAILURE(wait_for_status(wd, "stopped"));
  EXPECT_EQ(wd.execute("return document.getElementById('error').hidden").get<bool>(), true);
  EXPECT_LT(std::stoi(text_of(wd, "bytes")), opt.max_tokens_limit);
}

}  // namespace
}  // namespace blt::serve
