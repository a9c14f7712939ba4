// /v1/completions against gen::generate on the same tiny BLT: a choice
// equals `blt generate` of its prompt with the same seed (a single prompt and
// a list, greedy and sampled, with a stop string); streamed events are valid
// JSON (so valid UTF-8), concatenate to the same text and carry the same ids,
// patch flags and entropies; 16 concurrent clients on 4 rows each get their
// own correct result.
#include <gtest/gtest.h>

#include <atomic>

#include "serve/responses.h"
#include "serve_fixture.h"

namespace blt::test {
namespace {

using nlohmann::json;

gen::GenerateOptions options(int64_t max_bytes, double temperature, uint64_t seed, std::vector<std::string> stop = {}) {
  gen::GenerateOptions o;
  o.max_bytes = max_bytes;
  o.sampler.temperature = temperature;
  o.sampler.seed = seed;
  o.stop = std::move(stop);
  return o;
}

std::string request(const json& prompt, const gen::GenerateOptions& o, bool stream) {
  json j = {{"prompt", prompt},
            {"max_tokens", o.max_bytes},
            {"temperature", o.sampler.temperature},
            {"seed", o.sampler.seed},
            {"stream", stream},
            {"blt", {{"ids", true}, {"patches", true}}},
            {"an_unknown_field", {1, 2}}};
  if (!o.stop.empty()) j["stop"] = o.stop;
  return j.dump();
}

// Choice c of a response equals result r (text, ids, patch flags and lengths, entropies, finish, steps).
void expect_choice(const json& c, const gen::GenerationResult& r, const std::string& what) {
  EXPECT_EQ(c["text"], serve::valid_utf8(r.text)) << what;
  EXPECT_EQ(c["finish_reason"], r.finish == "length" ? "length" : "stop") << what;
  EXPECT_EQ(c["blt"]["finish"], r.finish) << what;
  EXPECT_EQ(c["blt"]["ids"].get<std::vector<int32_t>>(), r.ids) << what;
  EXPECT_EQ(c["blt"]["global_steps"], r.generated_global_steps) << what;
  const json& p = c["blt"]["patches"];
  EXPECT_EQ(p["starts"].get<std::vector<int>>(), std::vector<int>(r.patch_starts.begin(), r.patch_starts.end())) << what;
  EXPECT_EQ(p["lengths"].get<std::vector<int64_t>>(), gen::generated_patch_lengths(r.patch_starts)) << what;
  EXPECT_EQ(p["entropies"].get<std::vector<float>>(), r.entropies) << what;
  EXPECT_EQ(r.entropies.size(), r.text.size()) << what;
  EXPECT_FLOAT_EQ(p["threshold"].get<float>(), static_cast<float>(tiny_blt().patcher.threshold)) << what;
}

TEST(ServeCompletions, EqualGenerateForOnePromptAndAList) {
  TestServer s;
  const std::vector<std::string> prompts = {"the cat", "", "a dog in the fog"};
  for (const auto& o : {options(40, 0, 1), options(60, 1, 9), options(90, 0.8, 3, {"\x01never", "e"})}) {
    const auto expected = gen::generate(&tiny_blt(), nullptr, prompts, o);
    const auto [status, body] = s.post("/v1/completions", request(prompts, o, false));
    ASSERT_EQ(status, 200) << body;
    const json j = json::parse(body);
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["model"], "tiny");
    ASSERT_EQ(j["choices"].size(), prompts.size());
    int64_t completion = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(j["choices"][i]["index"], i);
      expect_choice(j["choices"][i], expected[i], "choice " + std::to_string(i) + " at seed " +
                                                      std::to_string(o.sampler.seed));
      completion += static_cast<int64_t>(expected[i].ids.size());
    }
    EXPECT_EQ(j["usage"]["completion_tokens"], completion);
    // A single prompt (a string) is choice 0 of a list: seed + 0.
    const auto [status1, body1] = s.post("/v1/completions", request(prompts[2], o, false));
    ASSERT_EQ(status1, 200) << body1;
    expect_choice(json::parse(body1)["choices"][0], gen::generate(&tiny_blt(), nullptr, {prompts[2]}, o)[0],
                  "a single prompt");
  }
}

TEST(ServeCompletions, StreamedEventsConcatenateToTheResult) {
  TestServer s;
  const std::vector<std::string> prompts = {"on the", "then it ran"};
  const auto o = options(80, 1, 5);
  const auto expected = gen::generate(&tiny_blt(), nullptr, prompts, o);
  const Stream st = post_stream(s, request(prompts, o, true));
  ASSERT_EQ(st.status, 200);
  EXPECT_EQ(st.content_type, "text/event-stream");
  ASSERT_TRUE(st.done) << "the stream must end with data: [DONE]";
  std::vector<std::string> text(prompts.size());
  std::vector<std::vector<int32_t>> ids(prompts.size());
  std::vector<std::vector<int>> starts(prompts.size());
  std::vector<std::vector<float>> entropies(prompts.size());
  std::vector<int> finishes(prompts.size(), 0);
  for (size_t k = 0; k + 1 < st.events.size(); ++k) {
    const json& e = st.events[k];
    ASSERT_EQ(e["choices"].size(), 1u);
    const json& c = e["choices"][0];
    const size_t i = c["index"].get<size_t>();
    ASSERT_LT(i, prompts.size());
    EXPECT_EQ(finishes[i], 0) << "an event after choice " << i << " finished";
    const std::string t = c["text"];
    text[i] += t;
    const auto s_i = c["blt"]["patches"]["starts"].get<std::vector<int>>();
    const auto h_i = c["blt"]["patches"]["entropies"].get<std::vector<float>>();
    EXPECT_EQ(s_i.size(), t.size()) << "one patch flag per byte of the event's text";
    EXPECT_EQ(h_i.size(), t.size()) << "one entropy per byte of the event's text";
    starts[i].insert(starts[i].end(), s_i.begin(), s_i.end());
    entropies[i].insert(entropies[i].end(), h_i.begin(), h_i.end());
    const auto id_i = c["blt"]["ids"].get<std::vector<int32_t>>();
    ids[i].insert(ids[i].end(), id_i.begin(), id_i.end());
    if (!c["finish_reason"].is_null()) {
      finishes[i] = 1;
      EXPECT_EQ(c["finish_reason"], expected[i].finish == "length" ? "length" : "stop");
      EXPECT_EQ(e["usage"]["completion_tokens"], expected[i].ids.size());
      EXPECT_EQ(c["blt"]["global_steps"], expected[i].generated_global_steps);
    } else {
      EXPECT_FALSE(t.empty()) << "an event before the last carries text";
    }
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(finishes[i], 1) << "choice " << i << " never finished";
    EXPECT_EQ(text[i], serve::valid_utf8(expected[i].text)) << i;
    EXPECT_EQ(ids[i], expected[i].ids) << i;
    EXPECT_EQ(starts[i], std::vector<int>(expected[i].patch_starts.begin(), expected[i].patch_starts.end())) << i;
    EXPECT_EQ(entropies[i], expected[i].entropies) << i;
  }
}

// Invalid UTF-8 becomes '?' byte for byte, and cutting after complete characters does not change that.
TEST(ServeCompletions, ValidUtf8KeepsLengthsAndValidText) {
  EXPECT_EQ(serve::valid_utf8("a\xC3\xA9z"), "a\xC3\xA9z");
  EXPECT_EQ(serve::valid_utf8("\xE2\x82\xAC\xF0\x9F\x98\x80"), "\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(serve::valid_utf8("\xFF\xC3\xC3\xA9\x80"), "??\xC3\xA9?");
  EXPECT_EQ(serve::valid_utf8("\xE0\x80\x80\xED\xA0\x80\xF4\x90\x80\x80"), "??????????");  // overlong, surrogate, > U+10FFFF
  EXPECT_EQ(serve::valid_utf8("\xE2\x82"), "??");
  EXPECT_EQ(serve::valid_utf8("\xC3"), "?");
  EXPECT_EQ(serve::valid_utf8("\xC3") + serve::valid_utf8("\xC3\xA9"), serve::valid_utf8("\xC3\xC3\xA9"));
}

TEST(ServeCompletions, SixteenConcurrentClientsEachGetTheirOwnResult) {
  serve::ServerOptions opt;
  opt.parallel = 4;
  opt.queue_limit = 16;
  TestServer s(opt);
  constexpr int kClients = 16;
  std::vector<std::string> prompts;
  for (int c = 0; c < kClients; ++c) prompts.push_back(kText.substr(static_cast<size_t>(c) * 3, 2 + c % 5));
  std::vector<json> answers(kClients);
  std::vector<Stream> streams(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      const auto o = options(24 + c, 1, 100 + static_cast<uint64_t>(c));
      if (c % 2) {
        streams[c] = post_stream(s, request(prompts[c], o, true));
      } else {
        const auto [status, body] = s.post("/v1/completions", request(prompts[c], o, false));
        answers[c] = status == 200 ? json::parse(body) : json{{"status", status}, {"body", body}};
      }
    });
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    const auto expected = gen::generate(&tiny_blt(), nullptr, {prompts[c]}, options(24 + c, 1, 100 + c))[0];
    if (c % 2) {
      ASSERT_TRUE(streams[c].done) << "client " << c;
      std::string text;
      for (const json& e : streams[c].events)
        if (e.is_object()) text += e["choices"][0]["text"].get<std::string>();
      EXPECT_EQ(text, serve::valid_utf8(expected.text)) << "client " << c;
    } else {
      ASSERT_TRUE(answers[c].contains("choices")) << "client " << c << ": " << answers[c].dump();
      expect_choice(answers[c]["choices"][0], expected, "client " + std::to_string(c));
    }
  }
  EXPECT_EQ(s.wait_metric("blt_active_rows", 0), 0);
  EXPECT_EQ(s.wait_metric("blt_queue_depth", 0), 0);
  EXPECT_GT(s.metric("blt_bytes_generated_total"), 16 * 24 - 1);
}

}  // namespace
}  // namespace blt::test
