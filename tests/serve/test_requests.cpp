// Bad requests and the server's lifetime: malformed JSON, wrong types, out of
// range values, an oversized body and unknown endpoints get a 4xx JSON error
// naming the field, and the server keeps serving; the API key is enforced on
// every endpoint but /health; a full queue answers 503 with Retry-After; a
// client that leaves mid-stream frees its row; stop() ends in-flight streams
// with finish_reason "cancelled" and [DONE]; a port in use is an IoError.
#include <gtest/gtest.h>

#include "generate/generation.h"
#include "serve_fixture.h"

namespace blt::test {
namespace {

using nlohmann::json;

// A status and an error body naming `param` (null for the whole body).
void expect_error(const std::pair<int, std::string>& answer, int status, const std::string& param,
                  const std::string& what) {
  EXPECT_EQ(answer.first, status) << what << ": " << answer.second;
  json j;
  ASSERT_NO_THROW(j = json::parse(answer.second)) << what << ": " << answer.second;
  ASSERT_TRUE(j.contains("error")) << what;
  if (param.empty())
    EXPECT_TRUE(j["error"]["param"].is_null()) << what << ": " << answer.second;
  else
    EXPECT_EQ(j["error"]["param"], param) << what;
  EXPECT_TRUE(j["error"]["message"].is_string()) << what;
}

// A stream that runs for minutes on endless_blt(): greedy, so no EOS (checked below over 5000 bytes).
const std::string kLongStream = R"({"prompt": "the cat", "max_tokens": 10000000, "temperature": 0, "stream": true})";

TEST(ServeRequests, TheLongStreamDoesNotEndEarly) {
  gen::GenerateOptions o;
  o.max_bytes = 5000;
  o.sampler.temperature = 0;
  const auto r = gen::generate(&endless_blt(), nullptr, {"the cat"}, o).at(0);
  EXPECT_EQ(r.finish, "length") << r.ids.size();
}

bool serves(const TestServer& s) {
  const auto [status, body] = s.post("/v1/completions", R"({"prompt": "a", "max_tokens": 3})");
  return status == 200 && json::parse(body)["choices"][0]["text"].is_string();
}

TEST(ServeRequests, BadRequestsNameTheFieldAndTheServerKeepsServing) {
  serve::ServerOptions opt;
  opt.max_body_bytes = 4096;
  opt.max_tokens_limit = 100;
  TestServer s(opt);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"/v1/completions", "{\"prompt\": ", ""},
      {"/v1/completions", "[1, 2]", ""},
      {"/v1/completions", "{}", "prompt"},
      {"/v1/completions", R"({"prompt": 7})", "prompt"},
      {"/v1/completions", R"({"prompt": ["a", 3]})", "prompt"},
      {"/v1/completions", R"({"prompt": []})", "prompt"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 101})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": -1})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": "9"})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 1e30})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "temperature": "hot"})", "temperature"},
      {"/v1/completions", R"({"prompt": "a", "temperature": -1})", "temperature"},
      {"/v1/completions", R"({"prompt": "a", "top_p": 0})", "top_p"},
      {"/v1/completions", R"({"prompt": "a", "top_k": -2})", "top_k"},
      {"/v1/completions", R"({"prompt": "a", "seed": -1})", "seed"},
      {"/v1/completions", R"({"prompt": "a", "seed": 18446744073709551615})", "seed"},
      {"/v1/completions", R"({"prompt": "a", "stop": 5})", "stop"},
      {"/v1/completions", R"({"prompt": "a", "stream": "yes"})", "stream"},
      {"/v1/completions", R"({"prompt": "a", "blt": true})", "blt"},
      {"/v1/completions", R"({"prompt": "a", "blt": {"ids": 1}})", "blt.ids"},
      {"/v1/patch", R"({"txt": "a"})", "text"},
      {"/v1/patch", R"({"text": ["a"]})", "text"},
      {"/v1/eval", R"({"text": null})", "text"},
  };
  for (const auto& [path, body, param] : cases) {
    expect_error(s.post(path, body), 400, param, path + " " + body);
    ASSERT_TRUE(serves(s)) << "after " << body;
  }
  expect_error(s.post("/v1/completions", R"({"prompt": ")" + std::string(5000, 'x') + "\"}"), 413, "body",
               "an oversized body");
  ASSERT_TRUE(serves(s)) << "after an oversized body";
  expect_error(s.post("/v1/nothing", "{}"), 404, "", "an unknown endpoint");
  ASSERT_TRUE(serves(s));
}

TEST(ServeRequests, ApiKeyIsRequiredExceptForHealth) {
  serve::ServerOptions opt;
  opt.api_key = "s3cret-key";
  TestServer s(opt);
  httplib::Client c = s.client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  auto page = c.Get("/");  // the page loads without a key (a browser cannot send one); its calls need it
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  const std::string ok_body = R"({"prompt": "a", "max_tokens": 2})";
  for (const httplib::Headers& h : std::vector<httplib::Headers>{
           {}, {{"Authorization", "Bearer s3cret-kez"}}, {{"Authorization", "Bearer s3cret-key2"}},
           {{"Authorization", "s3cret-key"}}, {{"Authorization", "Bearer "}}}) {
    const std::string what = h.empty() ? "no header" : h.begin()->second;
    expect_error(s.post("/v1/completions", ok_body, h), 401, "Authorization", what);
    expect_error(s.post("/v1/patch", R"({"text": "a"})", h), 401, "Authorization", what);
    for (const char* path : {"/v1/models", "/metrics"}) {
      auto r = c.Get(path, h);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 401) << path << " with " << what;
    }
  }
  const httplib::Headers good = {{"Authorization", "Bearer s3cret-key"}};
  EXPECT_EQ(s.post("/v1/completions", ok_body, good).first, 200);
  auto models = c.Get("/v1/models", good);
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "tiny");
}

// A streamed request that would run for minutes, cut off by its client after its first event: the row is
// freed (far fewer bytes generated than asked) and the server keeps serving.
TEST(ServeRequests, DisconnectMidStreamFreesTheRow) {
  serve::ServerOptions opt;
  opt.parallel = 1;
  opt.max_tokens_limit = 10'000'000;
  TestServer s(opt, &endless_blt());
  const Stream st = post_stream(s, kLongStream, [](const Stream& so_far) { return so_far.events.size() < 3; });
  ASSERT_GE(st.events.size(), 3u);
  EXPECT_FALSE(st.done);
  EXPECT_EQ(s.wait_metric("blt_active_rows", 0), 0) << "the row was not freed";
  EXPECT_LT(s.metric("blt_bytes_generated_total"), 5000) << "the row ran on after its client left";
  EXPECT_TRUE(serves(s));
}

// parallel 1, queue 1: one request generating, one waiting; a third is refused with 503 + Retry-After.
TEST(ServeRequests, AFullQueueAnswers503WithRetryAfter) {
  serve::ServerOptions opt;
  opt.parallel = 1;
  opt.queue_limit = 1;
  opt.max_tokens_limit = 10'000'000;
  TestServer s(opt, &endless_blt());
  std::atomic<bool> stop{false};
  const auto until_stopped = [&](const Stream&) { return !stop.load(); };
  std::thread first([&] { post_stream(s, kLongStream, until_stopped); });
  ASSERT_EQ(s.wait_metric("blt_active_rows", 1), 1);
  std::thread second([&] { post_stream(s, kLongStream, until_stopped); });
  ASSERT_EQ(s.wait_metric("blt_queue_depth", 1), 1);
  httplib::Client c = s.client();
  auto r = c.Post("/v1/completions", R"({"prompt": "b", "max_tokens": 2})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_TRUE(json::parse(r->body).contains("error"));
  stop = true;
  first.join();
  second.join();
  EXPECT_EQ(s.wait_metric("blt_active_rows", 0), 0);
  EXPECT_TRUE(serves(s));
}

// stop() while a stream runs: the stream ends cleanly (a "cancelled" last chunk, then [DONE]).
TEST(ServeRequests, StopEndsInFlightStreams) {
  serve::ServerOptions opt;
  opt.max_tokens_limit = 10'000'000;
  auto s = std::make_unique<TestServer>(opt, &endless_blt());
  Stream st;
  std::thread client([&] { st = post_stream(*s, kLongStream); });
  ASSERT_EQ(s->wait_metric("blt_active_rows", 1), 1);
  s->stop();
  client.join();
  ASSERT_TRUE(st.done) << "the stream did not end with [DONE]";
  ASSERT_GE(st.events.size(), 2u);
  EXPECT_EQ(st.events[st.events.size() - 2]["choices"][0]["finish_reason"], "cancelled");
}

// A second server on a port in use fails to bind, naming host:port (not SO_REUSEPORT's silent sharing).
TEST(ServeRequests, APortInUseIsAnIoErrorNamingIt) {
  TestServer s;
  serve::ServerOptions opt;
  opt.port = s.port();
  serve::Server second(&tiny_blt(), nullptr, opt);
  try {
    second.bind();
    FAIL() << "bound a port in use";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(s.port())), std::string::npos) << e.what();
  }
  EXPECT_TRUE(serves(s));
}

}  // namespace
}  // namespace blt::test
