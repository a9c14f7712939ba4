// Scheduler: continuous batching on one thread that owns every decoder. Up
// to `parallel` rows (one per prompt of a request) step together, one id
// each per step; a queued request's prompts take rows as rows free up, at
// the next step (their prefill runs then). Requests beyond `queue_limit`
// waiting ones are refused (the server answers 503). A cancelled job's rows
// are dropped at the next step, so a client that leaves frees its rows.
// Rows step one after another, each exactly as gen::generate steps it, so a
// choice equals `blt generate` of its prompt with the same seed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "generate/row_generation.h"
#include "serve/job.h"
#include "serve/metrics.h"

namespace blt::serve {

class Scheduler {
 public:
  // Exactly one of blt / lm non-null; both and `metrics` outlive the scheduler. Starts the thread.
  Scheduler(const modeldir::BltModel* blt, const lm::LMTransformer* lm, int parallel, int queue_limit,
            Metrics& metrics);
  ~Scheduler();  // stop()s

  // Queues a job -> false when the queue is full or the scheduler stopped.
  bool submit(const std::shared_ptr<Job>& job);
  // Thread-safe, idempotent: ends every job (queued or running, "the server is stopping") and the thread.
  void stop();

 private:
  struct Row {
    std::shared_ptr<Job> job;
    ChoiceEvent pending;  // released but not yet pushed (streamed jobs)
    gen::RowGeneration gen;
  };

  void run();
  // Moves prompts of queued jobs into free rows (prefills them); under mu_ for the queue only.
  void admit();
  // One step of every row; pushes events, drops finished and cancelled rows.
  void step_rows();
  // A row's step (adds to step_ids_, step_global_) -> is it finished?
  bool step_row(Row& row);
  void publish_queue();

  const modeldir::BltModel* blt_;
  const lm::LMTransformer* lm_;
  const size_t parallel_, queue_limit_;
  Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // waiting jobs; the front one may have prompts in rows already
  size_t front_admitted_ = 0;               // prompts of queue_.front() already in rows
  bool stop_ = false;
  std::atomic<size_t> active_{0};          // rows_.size(), for submit()
  std::vector<std::unique_ptr<Row>> rows_;  // the scheduler thread's only
  int64_t step_ids_ = 0, step_global_ = 0;  // what the current step generated
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace blt::serve
