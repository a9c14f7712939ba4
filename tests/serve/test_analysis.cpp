// /v1/patch equals the patcher's offline result on [BOS] + text (per byte:
// patch starts and the entropy compared for it); /v1/eval equals
// eval::evaluate (what `blt eval` prints) on the text as one document; a byte
// LM is served too (completions equal gen::generate, /v1/eval its bits per
// byte, /v1/patch refused); GET / is the page, /v1/models and /health JSON.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "data/tokenizer.h"
#include "eval/evaluate.h"
#include "eval/lm_bpb.h"
#include "generate/generation.h"
#include "serve/page.h"
#include "serve/responses.h"
#include "serve_fixture.h"

namespace blt::test {
namespace {

using nlohmann::json;

TEST(ServeAnalysis, PatchEqualsOfflinePatching) {
  TestServer s;
  const modeldir::BltModel& m = tiny_blt();
  for (const std::string& text : {kText, std::string("a"), std::string(""), std::string("caf\xC3\xA9 au lait")}) {
    const auto [status, body] = s.post("/v1/patch", json{{"text", text}}.dump());
    ASSERT_EQ(status, 200) << body;
    const json j = json::parse(body);
    // Offline: entropies of [BOS] + text, patch lengths with the next byte included.
    const std::vector<int32_t> tokens = data::encode(text, true, false);
    const int64_t N = static_cast<int64_t>(tokens.size());
    patching::RowPatcher rp(m.patcher, m.entropy_lm(), m.args.eos_id);
    std::vector<float> h;
    rp.row_entropies(tokens, 1, N, h);
    patching::PatchLayout layout;
    rp.layout(tokens, 1, N, layout);
    std::vector<int> starts(static_cast<size_t>(N) + 1, 0);
    for (int64_t p = 0, at = 0; p < layout.P; at += layout.lengths[static_cast<size_t>(p++)]) starts[at] = 1;
    EXPECT_EQ(j["bytes"], text.size());
    EXPECT_EQ(j["mode"], "entropy");
    EXPECT_FLOAT_EQ(j["threshold"].get<float>(), static_cast<float>(m.patcher.threshold));
    EXPECT_EQ(j["starts"].get<std::vector<int>>(), std::vector<int>(starts.begin() + 1, starts.end() - 1)) << text;
    EXPECT_EQ(j["entropies"].get<std::vector<float>>(), std::vector<float>(h.begin(), h.end() - 1)) << text;
    // The first byte always opens a patch; each other exactly where its entropy exceeds the threshold.
    if (!text.empty()) {
      EXPECT_EQ(j["starts"][0], 1);
    }
    for (size_t i = 1; i < text.size(); ++i)
      EXPECT_EQ(j["starts"][i] == 1, h[i] > static_cast<float>(m.patcher.threshold)) << text << " byte " << i;
    int64_t sum = 0;
    for (const json& l : j["lengths"]) sum += l.get<int64_t>();
    EXPECT_EQ(sum, static_cast<int64_t>(text.size()));
  }
}

TEST(ServeAnalysis, EvalEqualsEvaluate) {
  TestServer s;
  const modeldir::BltModel& m = tiny_blt();
  // Longer than one window (64): several windows.
  for (const std::string& text : {kText + kText, std::string("x")}) {
    const auto [status, body] = s.post("/v1/eval", json{{"text", text}}.dump());
    ASSERT_EQ(status, 200) << body;
    const json j = json::parse(body);
    data::Corpus corpus;
    corpus.add(text);
    data::EvalWindows windows(corpus, m.args.max_encoder_seq_length);
    patching::RowPatcher rp(m.patcher, m.entropy_lm(), m.args.eos_id);
    const auto r = eval::evaluate(m, rp, windows, 0);
    EXPECT_DOUBLE_EQ(j["bits_per_byte"].get<double>(), r.bpb);
    EXPECT_DOUBLE_EQ(j["mean_patch_bytes"].get<double>(), r.mean_patch_size);
    EXPECT_EQ(j["bytes"], r.n_positions);
    EXPECT_EQ(r.n_positions, static_cast<int64_t>(text.size()) + 1);
  }
}

TEST(ServeAnalysis, ServesAByteLm) {
  auto lm = modeldir::EntropyModel::create(tiny_lm_args(48, 12), {});
  Rng init(5);
  lm.params->initialize(init);
  TestServer s({}, nullptr, lm.model.get());
  gen::GenerateOptions o;
  o.max_bytes = 70;  // through a context cut
  o.sampler.seed = 4;
  const auto expected = gen::generate(nullptr, lm.model.get(), {"on the", "x"}, o);
  const auto [status, body] =
      s.post("/v1/completions", R"({"prompt": ["on the", "x"], "max_tokens": 70, "seed": 4, "blt": {"patches": true}})");
  ASSERT_EQ(status, 200) << body;
  const json j = json::parse(body);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(j["choices"][i]["text"], serve::valid_utf8(expected[i].text)) << i;
    EXPECT_TRUE(j["choices"][i]["blt"]["patches"]["entropies"].empty()) << "a byte LM does not patch";
    EXPECT_TRUE(j["choices"][i]["blt"]["patches"]["threshold"].is_null());
  }
  const auto [estatus, ebody] = s.post("/v1/eval", R"({"text": "the cat sat"})");
  ASSERT_EQ(estatus, 200) << ebody;
  data::Corpus corpus;
  corpus.add("the cat sat");
  data::EvalWindows windows(corpus, 48);
  EXPECT_DOUBLE_EQ(json::parse(ebody)["bits_per_byte"].get<double>(), eval::lm_bpb(*lm.model, windows, 0));
  EXPECT_TRUE(json::parse(ebody)["mean_patch_bytes"].is_null());
  const auto [pstatus, pbody] = s.post("/v1/patch", R"({"text": "a"})");
  EXPECT_EQ(pstatus, 400) << pbody;
}

TEST(ServeAnalysis, PageModelsAndHealth) {
  TestServer s;
  httplib::Client c = s.client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->body, std::string(serve::page_html()));
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  const json m = json::parse(models->body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "tiny");
  EXPECT_EQ(m["data"][0]["owned_by"], "blt.cpp");
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, R"({"status":"ok"})");
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* name : {"blt_requests_total", "blt_bytes_generated_total", "blt_bytes_per_second",
                           "blt_queue_depth", "blt_active_rows", "blt_global_steps_per_byte"})
    EXPECT_NE(metrics->body.find(std::string("\n") + name + " "), std::string::npos) << name;
}

}  // namespace
}  // namespace blt::test
