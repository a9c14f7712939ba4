// POST /v1/completions: a request becomes a Job for the scheduler; the
// handler then waits for the whole result, or streams each choice's text as
// server-sent events (`data: {chunk}\n\n` ... `data: [DONE]\n\n`). A streamed
// client that leaves (a failed write, or a dead socket while waiting) cancels
// its job, which frees its rows at the scheduler's next step.
#include <httplib.h>

#include <chrono>
#include <ctime>

#include "serve/responses.h"
#include "serve/server_context.h"

namespace blt::serve {

namespace {
using namespace std::chrono_literals;

CompletionMeta meta_of(ServeContext& ctx) {
  CompletionMeta meta;
  meta.id = "cmpl-" + std::to_string(ctx.next_id++);
  meta.created = static_cast<int64_t>(std::time(nullptr));
  meta.model = ctx.opt.model_name;
  if (ctx.blt && ctx.blt->patcher.patching_mode == patching::PatchingMode::Entropy)
    meta.threshold = ctx.blt->patcher.threshold;
  return meta;
}

// Waits for every choice's result -> the text_completion, or an error answer when the job ended first.
void answer_whole(const std::shared_ptr<Job>& job, const CompletionMeta& meta, httplib::Response& res) {
  std::vector<gen::GenerationResult> results(job->request.prompts.size());
  std::vector<ChoiceEvent> events;
  while (job->wait(events, 1s)) {
    for (ChoiceEvent& e : events)
      if (e.result) results[static_cast<size_t>(e.index)] = std::move(*e.result);
    events.clear();
  }
  const std::string why = job->ended_because();
  if (!why.empty()) return answer_error(res, why.starts_with("generation failed") ? 500 : 503, why);
  res.set_content(dump(completion_body(job->request, results, meta)), "application/json");
}

// One provider call: writes the events that came (waiting up to 1 s; an idle stream gets a comment line, which finds a client that left) -> false when the client left.
bool stream_some(const std::shared_ptr<Job>& job, const CompletionMeta& meta, std::vector<char>& finished,
                 httplib::DataSink& sink) {
  std::vector<ChoiceEvent> events;
  const bool more = job->wait(events, 1s);
  const auto send = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
  for (const ChoiceEvent& e : events) {
    if (!send("data: " + dump(chunk_body(job->request, e, meta)) + "\n\n")) return false;
    if (e.result) finished[static_cast<size_t>(e.index)] = 1;
  }
  if (more) return !events.empty() || (sink.is_writable() && send(": waiting\n\n"));
  if (!job->ended_because().empty())  // cut by the server: every open choice ends, the stream ends cleanly
    for (size_t i = 0; i < finished.size(); ++i)
      if (!finished[i] && !send("data: " + dump(cut_chunk_body(static_cast<int64_t>(i), "cancelled", meta)) + "\n\n"))
        return false;
  if (!send("data: [DONE]\n\n")) return false;
  sink.done();
  return true;
}

void answer_stream(ServeContext& ctx, const std::shared_ptr<Job>& job, const CompletionMeta& meta,
                   httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  ++ctx.open_streams;
  auto finished = std::make_shared<std::vector<char>>(job->request.prompts.size(), 0);
  res.set_chunked_content_provider(
      "text/event-stream",
      [job, meta, finished](size_t, httplib::DataSink& sink) {
        try {
          if (stream_some(job, meta, *finished, sink)) return true;
        } catch (const std::exception&) {  // nothing else can be said on a started stream
        }
        job->cancel();
        return false;
      },
      [job, &ctx](bool) {  // after the stream in every case: a finished job ignores the cancel
        job->cancel();
        --ctx.open_streams;
      });
}
}  // namespace

void handle_completion(ServeContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto job = std::make_shared<Job>(parse_completion(req.body, ctx.opt.max_tokens_limit));
  if (!ctx.scheduler.submit(job)) {
    res.set_header("Retry-After", "1");
    return answer_error(res, 503, "the server is busy: every row is in use and the queue is full; retry later");
  }
  const CompletionMeta meta = meta_of(ctx);
  if (job->request.stream)
    answer_stream(ctx, job, meta, res);
  else
    answer_whole(job, meta, res);
}

}  // namespace blt::serve
