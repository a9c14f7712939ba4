// What the HTTP handlers of one server share: the model, the options, the
// metrics, the scheduler, and a lock that runs /v1/patch and /v1/eval one
// at a time (each is a whole forward; the generation thread keeps running).
#pragma once

#include <atomic>
#include <mutex>

#include "serve/metrics.h"
#include "serve/scheduler.h"
#include "serve/server.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace blt::serve {

struct ServeContext {
  ServeContext(const modeldir::BltModel* blt, const lm::LMTransformer* lm, ServerOptions opt)
      : blt(blt), lm(lm), opt(std::move(opt)), scheduler(blt, lm, this->opt.parallel, this->opt.queue_limit, metrics) {}

  const modeldir::BltModel* blt;
  const lm::LMTransformer* lm;
  const ServerOptions opt;
  Metrics metrics;
  Scheduler scheduler;
  std::atomic<int64_t> next_id{1};
  std::atomic<int64_t> open_streams{0};  // streamed responses not yet released (stop() lets them end)
  std::mutex analysis_mu;
};

// POST /v1/completions (completions.cpp): validates, queues, then answers whole or streams.
void handle_completion(ServeContext& ctx, const httplib::Request& req, httplib::Response& res);

// A JSON error answer.
void answer_error(httplib::Response& res, int status, const std::string& message, const std::string& param = "");

}  // namespace blt::serve
