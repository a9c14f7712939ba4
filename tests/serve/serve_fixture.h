// A blt::serve::Server on an ephemeral loopback port for the tests, with a
// tiny random BLT (entropy patching, threshold calibrated on kText), and
// HTTP helpers: JSON posts, streamed posts that collect the server-sent
// events, and a /metrics reader.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "generate/entropy_blt.h"
#include "serve/server.h"

namespace blt::test {

inline const std::string kText = "the cat sat on the mat and then it ran off to see a dog in the fog ";

inline const modeldir::BltModel& tiny_blt() {
  static const modeldir::BltModel m = entropy_blt(64, kText);
  return m;
}

// tiny_blt() with the EOS row of its output layer zeroed: the EOS logit is always 0, so greedy decoding
// never picks it while any other logit is positive (a stream that runs until its client or the server ends it).
inline const modeldir::BltModel& endless_blt() {
  static const modeldir::BltModel m = [] {
    modeldir::BltModel b = entropy_blt(64, kText);
    TensorView w = b.params->value(*b.params->find("local_decoder.output.weight"));  // (V, D)
    const int64_t D = w.shape().last();
    std::fill_n(w.data<float>() + data::kEosId * D, D, 0.0f);
    return b;
  }();
  return m;
}

class TestServer {
 public:
  explicit TestServer(serve::ServerOptions opt = {}, const modeldir::BltModel* m = &tiny_blt(),
                      const lm::LMTransformer* lm = nullptr) {
    opt.port = 0;
    if (opt.model_name.empty()) opt.model_name = "tiny";
    server_.emplace(lm ? nullptr : m, lm, std::move(opt));
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->listen(); });
    httplib::Client c = client();
    for (int i = 0; i < 500 && !c.Get("/health"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~TestServer() { stop(); }
  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
  }

  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  // POST path with a JSON body -> (status, body); status -1 (and the client's error) when no answer came.
  std::pair<int, std::string> post(const std::string& path, const std::string& body,
                                   const httplib::Headers& headers = {}) const {
    httplib::Client c = client();
    auto r = c.Post(path.c_str(), headers, body, "application/json");
    return r ? std::pair(r->status, r->body) : std::pair(-1, "no answer: " + httplib::to_string(r.error()));
  }
  // The value of metric `name` in /metrics.
  double metric(const std::string& name) const {
    httplib::Client c = client();
    auto r = c.Get("/metrics");
    if (!r) return -1;
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
  }
  // Polls metric `name` until it reads `value` (at most ~10 s) -> the last value read.
  double wait_metric(const std::string& name, double value) const {
    double v = metric(name);
    for (int i = 0; i < 1000 && v != value; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      v = metric(name);
    }
    return v;
  }

 private:
  std::optional<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// A streamed completion: the content type, and each event's data (parsed JSON, "[DONE]" kept as a string).
struct Stream {
  int status = -1;
  std::string content_type;
  std::vector<nlohmann::json> events;
  bool done = false;  // the last event was [DONE]
};

// Posts a streamed completion; `keep_going(events so far)` false closes the connection.
inline Stream post_stream(const TestServer& s, const std::string& body,
                          const std::function<bool(const Stream&)>& keep_going = {}) {
  Stream out;
  std::string buffer;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.response_handler = [&](const httplib::Response& r) {
    out.status = r.status;
    out.content_type = r.get_header_value("Content-Type");
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buffer.append(data, n);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2)) {
      const std::string event = buffer.substr(0, end);
      if (event.starts_with(":")) continue;  // a comment line (keep-alive)
      if (!event.starts_with("data: ")) throw std::runtime_error("not an SSE data line: " + event);
      const std::string data = event.substr(6);
      out.done = data == "[DONE]";
      out.events.push_back(out.done ? nlohmann::json(data) : nlohmann::json::parse(data));  // parse checks UTF-8
    }
    return !keep_going || keep_going(out);
  };
  httplib::Client c = s.client();
  c.send(req);
  return out;
}

}  // namespace blt::test
