// The HTTP server: options, routes, authentication, errors, lifetime.
#include "serve/server.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <csignal>
#include <sys/socket.h>

#include "core/error.h"
#include "serve/analysis.h"
#include "serve/page.h"
#include "serve/responses.h"
#include "serve/server_context.h"

namespace blt::serve {

namespace {
// Equal strings, in time that depends on the lengths only.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    diff |= static_cast<unsigned char>(i < a.size() ? a[i] : 0) ^ static_cast<unsigned char>(i < b.size() ? b[i] : 0);
  return diff == 0;
}

const char* error_type(int status) {
  if (status == 401) return "authentication_error";
  if (status >= 500) return status == 503 ? "server_busy" : "server_error";
  return "invalid_request_error";
}

// Runs a handler, turning every exception into a JSON error answer.
template <class F>
httplib::Server::Handler guarded(F f) {
  return [f](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (const RequestError& e) {
      answer_error(res, e.status, e.what(), e.param);
    } catch (const std::exception& e) {
      answer_error(res, 500, std::string("internal error: ") + e.what());
    }
  };
}

void json_answer(httplib::Response& res, const nlohmann::json& j) { res.set_content(dump(j), "application/json"); }
}  // namespace

void answer_error(httplib::Response& res, int status, const std::string& message, const std::string& param) {
  res.status = status;
  res.set_content(error_body(message, error_type(status), param), "application/json");
}

void ServerOptions::validate() const {
  const auto bad = [](const std::string& s) { throw ConfigError("serve: " + s); };
  if (host.empty()) bad("host must not be empty");
  if (port < 0 || port > 65535) bad("port " + std::to_string(port) + " is not in [0, 65535]");
  if (parallel < 1 || parallel > 1024) bad("parallel " + std::to_string(parallel) + " is not in [1, 1024]");
  if (queue_limit < 0 || queue_limit > 65536) bad("queue " + std::to_string(queue_limit) + " is not in [0, 65536]");
  if (max_body_bytes < 1) bad("max_body_bytes must be >= 1");
  if (max_tokens_limit < 1) bad("max_tokens " + std::to_string(max_tokens_limit) + " must be >= 1");
}

Server::Server(const modeldir::BltModel* blt, const lm::LMTransformer* lm, ServerOptions opt) {
  if ((blt == nullptr) == (lm == nullptr)) throw ConfigError("serve: give exactly one model");
  opt.validate();
  // A client that leaves must not end the process: writes to its socket fail (EPIPE) instead of raising SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  if (opt.model_name.empty()) opt.model_name = "blt";
  ctx_ = std::make_unique<ServeContext>(blt, lm, std::move(opt));
  http_ = std::make_unique<httplib::Server>();
  // Every waiting request holds a handler thread; a few more answer /health and /metrics under load.
  const size_t threads = std::min<size_t>(static_cast<size_t>(ctx_->opt.parallel + ctx_->opt.queue_limit) + 8, 1024);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };  // httplib owns it
  http_->set_payload_max_length(ctx_->opt.max_body_bytes);
  http_->set_keep_alive_timeout(2);  // an idle keep-alive connection delays stop() by at most this
  // SO_REUSEADDR only (httplib's default adds SO_REUSEPORT, which lets a second server share the port
  // silently); the listening socket is kept to enlarge its backlog in bind().
  http_->set_socket_options([this](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = sock;
  });
  routes();
}

Server::~Server() { stop(); }

void Server::routes() {
  ServeContext& c = *ctx_;
  http_->set_pre_routing_handler([&c](const httplib::Request& req, httplib::Response& res) {
    c.metrics.count_request();
    // /health, and the page: a browser opening a URL sends no header; the page sends the key it is given.
    if (c.opt.api_key.empty() || req.path == "/health" || (req.method == "GET" && req.path == "/"))
      return httplib::Server::HandlerResponse::Unhandled;
    if (constant_time_equal(req.get_header_value("Authorization"), "Bearer " + c.opt.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    answer_error(res, 401, "missing or wrong API key: send `Authorization: Bearer KEY`", "Authorization");
    return httplib::Server::HandlerResponse::Handled;
  });
  // httplib's own refusals (413 body too large, 404, 400 unparsable request) get a JSON body too.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const std::string what = res.status == 413 ? "the request body is larger than the server's limit"
                             : res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                                 : "the request was refused (HTTP " + std::to_string(res.status) + ")";
    res.set_content(error_body(what, error_type(res.status), res.status == 413 ? "body" : ""), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(page_html()), "text/html; charset=utf-8");
  });
  http_->Get("/health", [](const httplib::Request&, httplib::Response& res) { json_answer(res, {{"status", "ok"}}); });
  http_->Get("/v1/models", [&c](const httplib::Request&, httplib::Response& res) {
    json_answer(res, {{"object", "list"},
                      {"data", {{{"id", c.opt.model_name}, {"object", "model"}, {"owned_by", "blt.cpp"}}}}});
  });
  http_->Get("/metrics", [&c](const httplib::Request&, httplib::Response& res) {
    res.set_content(c.metrics.prometheus(), "text/plain; version=0.0.4");
  });
  http_->Post("/v1/completions", guarded([&c](const httplib::Request& req, httplib::Response& res) {
    handle_completion(c, req, res);
  }));
  http_->Post("/v1/patch", guarded([&c](const httplib::Request& req, httplib::Response& res) {
    const std::string text = parse_text(req.body);
    if (!c.blt) throw RequestError(400, "", "this model is a byte LM: it does not patch");
    std::lock_guard lock(c.analysis_mu);
    json_answer(res, patch_text(*c.blt, text));
  }));
  http_->Post("/v1/eval", guarded([&c](const httplib::Request& req, httplib::Response& res) {
    const std::string text = parse_text(req.body);
    std::lock_guard lock(c.analysis_mu);
    json_answer(res, eval_text(c.blt, c.lm, text));
  }));
}

int Server::bind() {
  const ServerOptions& o = ctx_->opt;
  const int port = o.port == 0 ? http_->bind_to_any_port(o.host) : (http_->bind_to_port(o.host, o.port) ? o.port : -1);
  if (port <= 0) throw IoError("serve: cannot listen on " + o.host + ":" + std::to_string(o.port));
  // Debian's compiled httplib listens with a backlog of 5: a burst of clients overflows it and some
  // connections are reset. listen() again on the bound socket sets the system's maximum instead.
  if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
  return port;
}

void Server::listen() {
  if (!stopping_) http_->listen_after_bind();
}

void Server::stop() {
  stopping_ = true;
  ctx_->scheduler.stop();  // first: every waiting handler and stream ends
  // httplib drops a stream's end when it stops: let the streams write theirs (a client that does not read
  // is given up after 5 s).
  for (int i = 0; i < 500 && ctx_->open_streams > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http_->stop();
}

}  // namespace blt::serve
