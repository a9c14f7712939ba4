// blt serve: the HTTP server (cpp-httplib). OpenAI-style /v1/completions
// (streamed as server-sent events), /v1/patch, /v1/eval, /v1/models,
// /health, /metrics and the page at /. Handlers run on httplib's thread
// pool; generation runs on the scheduler's one thread (continuous batching,
// scheduler.h); a handler waits on its request's Job. With an API key every
// endpoint but /health needs `Authorization: Bearer KEY` (compared in
// constant time). Every handler answers JSON errors; none throws out.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "modeldir/blt_model.h"

namespace httplib {
class Server;
}

namespace blt::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: an ephemeral port (tests)
  int parallel = 4;                // rows in the generation batch
  int queue_limit = 64;            // waiting requests beyond the batch; more -> 503 + Retry-After
  std::string api_key;             // empty: no auth
  size_t max_body_bytes = 1 << 20;
  int64_t max_tokens_limit = 4096;
  std::string model_name;          // /v1/models id (default: the model dir's name)
  void validate() const;           // ConfigError naming the option
};

struct ServeContext;  // what the handlers share (server_context.h)

class Server {
 public:
  // Exactly one of blt / lm non-null (as gen::generate); the model outlives the server.
  Server(const modeldir::BltModel* blt, const lm::LMTransformer* lm, ServerOptions opt);
  ~Server();
  int bind();     // binds host:port, returns the port actually bound (IoError naming host:port on failure)
  void listen();  // serves until stop(); blocks
  void stop();    // thread-safe, idempotent: stop accepting, cancel in-flight rows, end streams cleanly

 private:
  void routes();

  std::unique_ptr<ServeContext> ctx_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> stopping_{false};
  int listen_fd_ = -1;  // the listening socket (set while binding)
};

}  // namespace blt::serve
