// The server under concurrent streaming clients (see serve_bench.h).
#include "bench/serve_bench.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "bench/generate_bench.h"
#include "blas/gemm.h"
#include "core/error.h"
#include "data/tokenizer.h"
#include "io/file.h"
#include "lm/entropies.h"
#include "patching/calibrate.h"
#include "patching/row_patcher.h"
#include "serve/server.h"

namespace blt::bench {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Stream {
  double first_text_s = -1;  // request sent -> the first event with text
  double total_s = 0;        // request sent -> the response ended
  int64_t bytes = 0;         // of streamed text
  int64_t first_bytes = 0;   // ... in the first event with text
  std::string finish;
};

// The text and finish reasons of one SSE event's data (a text_completion chunk) added to `s`.
void take_event(const std::string& data, Clock::time_point t0, Stream& s) {
  const nlohmann::json j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.contains("choices")) return;
  for (const auto& c : j["choices"]) {
    const std::string text = c.value("text", "");
    if (!text.empty() && s.first_text_s < 0) {
      s.first_text_s = since(t0);
      s.first_bytes = static_cast<int64_t>(text.size());
    }
    s.bytes += static_cast<int64_t>(text.size());
    if (c.contains("finish_reason") && c["finish_reason"].is_string()) s.finish = c["finish_reason"].get<std::string>();
  }
}

// One streamed completion: POST /v1/completions with stream: true, events read as they arrive.
Stream stream_once(int port, const std::string& prompt, int64_t max_tokens, double temperature, int64_t seed) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(std::chrono::seconds(600));
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.set_header("Content-Type", "application/json");
  req.body = nlohmann::json{{"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", temperature}, {"seed", seed},
                            {"stream", true}}.dump();
  Stream s;
  std::string buf;
  const auto t0 = Clock::now();
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buf.append(data, n);
    for (size_t end; (end = buf.find("\n\n")) != std::string::npos; buf.erase(0, end + 2))
      if (buf.compare(0, 6, "data: ") == 0 && buf.compare(6, end - 6, "[DONE]") != 0) take_event(buf.substr(6, end - 6), t0, s);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  if (!cli.send(req, res, err)) throw IoError("bench serve: 127.0.0.1:" + std::to_string(port) + ": " + httplib::to_string(err));
  if (res.status != 200) throw IoError("bench serve: HTTP " + std::to_string(res.status) + ": " + buf);
  s.total_s = since(t0);
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// n clients at once (client i samples with seed 1 + i): the round's figures.
nlohmann::json run_round(int port, const std::string& prompt, const ServeBenchOptions& opt, int64_t n) {
  std::vector<Stream> streams(static_cast<size_t>(n));
  std::vector<std::string> errors(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      try {
        streams[static_cast<size_t>(i)] = stream_once(port, prompt, opt.max_tokens, opt.temperature, 1 + i);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(i)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  const double wall = since(t0);
  for (const auto& e : errors)
    if (!e.empty()) throw IoError(e);
  int64_t bytes = 0;
  std::vector<double> rates, ttfb;
  nlohmann::json finish = nlohmann::json::object();
  for (const Stream& s : streams) {
    bytes += s.bytes;
    if (s.bytes > s.first_bytes) rates.push_back(static_cast<double>(s.bytes - s.first_bytes) / (s.total_s - s.first_text_s));
    if (s.first_text_s >= 0) ttfb.push_back(s.first_text_s);
    finish[s.finish.empty() ? "none" : s.finish] = finish.value(s.finish.empty() ? "none" : s.finish, 0) + 1;
  }
  return {{"clients", n},
          {"bytes", bytes},
          {"wall_s", wall},
          {"aggregate_bytes_per_s", static_cast<double>(bytes) / wall},
          {"per_stream_bytes_per_s_median", median(rates)},
          {"per_stream_bytes_per_s_min", rates.empty() ? 0.0 : *std::min_element(rates.begin(), rates.end())},
          {"ttfb_median_s", median(ttfb)},
          {"finish", finish}};
}

// Stops the server and joins its thread on every way out.
struct Running {
  serve::Server& server;
  std::thread thread;
  ~Running() {
    server.stop();
    thread.join();
  }
};

}  // namespace

nlohmann::json run_serve_bench(const ServeBenchOptions& opt) {
  if (opt.max_tokens < 1 || opt.prompt_bytes < 1 || opt.parallel < 1 || opt.clients.empty() || !(opt.target_patch >= 1.0))
    throw ConfigError("bench serve: needs --bytes >= 1, --prompt-bytes >= 1, --parallel >= 1, --clients, --patch >= 1");
  for (int64_t n : opt.clients)
    if (n < 1 || n > 64) throw ConfigError("bench serve: --clients " + std::to_string(n) + ": must be in 1..64");
  const std::string path = find_sample_text("");
  const std::string text = io::read_file(path);
  if (opt.prompt_bytes > static_cast<int64_t>(text.size()))
    throw ConfigError("bench serve: --prompt-bytes " + std::to_string(opt.prompt_bytes) + "; " + path + " has " +
                      std::to_string(text.size()));
  const std::string prompt = text.substr(0, static_cast<size_t>(opt.prompt_bytes));

  modeldir::BltModel m = bench_entropy_blt(opt.target_patch);
  lm::EntropyComputer ec(*m.entropy->model, {patching::kEntropyChunk, 4});
  const std::vector<float> h = ec.compute(data::encode(prompt, true, false));
  m.patcher.threshold = patching::calibrate_threshold(m.patcher, std::span(&h, 1), opt.target_patch, true).threshold;
  m.entropy->patcher = m.patcher;

  serve::ServerOptions so;
  so.port = 0;
  so.parallel = static_cast<int>(opt.parallel);
  so.model_name = "bench";
  serve::Server server(&m, nullptr, so);
  const int port = server.bind();
  nlohmann::json rounds = nlohmann::json::array();
  {
    Running running{server, std::thread([&server] { server.listen(); })};
    stream_once(port, prompt, 4, opt.temperature, 1);  // warm-up: arenas and caches grow here
    for (int64_t n : opt.clients) rounds.push_back(run_round(port, prompt, opt, n));
  }
  const double base = rounds[0]["aggregate_bytes_per_s"].get<double>();
  for (auto& r : rounds) r["aggregate_over_first"] = r["aggregate_bytes_per_s"].get<double>() / base;
  return {{"threads", blas::num_threads()},
          {"config",
           {{"parameters", m.params->numel()},
            {"entropy_parameters", m.entropy->params->numel()},
            {"patching", "entropy"},
            {"threshold", m.patcher.threshold},
            {"target_mean_patch", opt.target_patch},
            {"prompt_bytes", opt.prompt_bytes},
            {"max_tokens", opt.max_tokens},
            {"parallel", opt.parallel},
            {"temperature", opt.temperature},
            {"seed", "1 + client"},
            {"text", path}}},
          {"rounds", rounds}};
}

std::string serve_bench_table(const nlohmann::json& r) {
  std::ostringstream o;
  char line[256];
  const auto& c = r["config"];
  std::snprintf(line, sizeof line,
                "threads %d; BLT %lld parameters + entropy model %lld; server rows %lld; prompt %lld bytes, %lld "
                "bytes asked per stream, temperature %g\n",
                r["threads"].get<int>(), c["parameters"].get<long long>(), c["entropy_parameters"].get<long long>(),
                c["parallel"].get<long long>(), c["prompt_bytes"].get<long long>(), c["max_tokens"].get<long long>(),
                c["temperature"].get<double>());
  o << line;
  o << "clients  bytes  aggregate B/s  per-stream B/s (median, min)  TTFB median s  aggregate / first round  finish\n";
  for (const auto& x : r["rounds"]) {
    std::string finish;
    for (const auto& [k, v] : x["finish"].items()) finish += " " + k + " " + std::to_string(v.get<int>());
    std::snprintf(line, sizeof line, "%7lld  %5lld  %13.1f  %14.1f %13.1f  %13.3f  %23.2f %s\n", x["clients"].get<long long>(),
                  x["bytes"].get<long long>(), x["aggregate_bytes_per_s"].get<double>(),
                  x["per_stream_bytes_per_s_median"].get<double>(), x["per_stream_bytes_per_s_min"].get<double>(),
                  x["ttfb_median_s"].get<double>(), x["aggregate_over_first"].get<double>(), finish.c_str());
    o << line;
  }
  return o.str();
}

}  // namespace blt::bench
