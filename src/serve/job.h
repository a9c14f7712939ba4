// Job: one completion request between its HTTP handler and the scheduler
// thread. The scheduler pushes events (released text per choice, and each
// choice's result when it finishes); the handler waits for them on the
// job's condition variable. Either side may end it: the handler cancels when
// its client left, the scheduler ends it (`ended`) when the server stops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "generate/generation.h"
#include "serve/request.h"

namespace blt::serve {

// What one choice released: text (whole UTF-8 characters), per byte its patch flag and entropy (entropy
// patching only), the ids generated since the previous event, the choice's global steps so far, and when
// it finished, its result.
struct ChoiceEvent {
  int64_t index = 0;
  std::string text;
  std::vector<char> patch_starts;
  std::vector<float> entropies;
  std::vector<int32_t> ids;
  int64_t global_steps = 0;
  std::optional<gen::GenerationResult> result;
};

class Job {
 public:
  explicit Job(CompletionRequest request) : request(std::move(request)) {}
  const CompletionRequest request;

  // Handler side. Waits up to `timeout` for events; moves those queued into `out` -> false once the job
  // is over (every choice finished, cancelled or ended) and nothing is left to take.
  bool wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout);
  void cancel();               // the client left: the scheduler drops the job's rows at its next step
  // Why the job ended before its choices finished ("" when it did not).
  std::string ended_because() const;

  // Scheduler side. Cancelled or ended: its rows are to be dropped.
  bool dropped() const;
  void push(ChoiceEvent e);    // a result ends its choice
  void end(std::string why);   // no more events will come (server stopping, a row failed)

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ChoiceEvent> events_;
  size_t finished_ = 0;
  bool cancelled_ = false, ended_ = false;
  std::string why_;
};

}  // namespace blt::serve
