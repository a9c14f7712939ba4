// The generation thread: admission, steps, events.
#include "serve/scheduler.h"

#include <algorithm>

namespace blt::serve {

namespace {
const char* const kStopping = "the server is stopping";
}

Scheduler::Scheduler(const modeldir::BltModel* blt, const lm::LMTransformer* lm, int parallel, int queue_limit,
                     Metrics& metrics)
    : blt_(blt),
      lm_(lm),
      parallel_(static_cast<size_t>(parallel)),
      queue_limit_(static_cast<size_t>(queue_limit)),
      metrics_(metrics),
      thread_([this] { run(); }) {}

Scheduler::~Scheduler() { stop(); }

bool Scheduler::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard lock(mu_);
    const size_t free_rows = parallel_ - std::min(parallel_, active_.load());
    if (stop_ || queue_.size() >= queue_limit_ + free_rows) return false;
    queue_.push_back(job);
    metrics_.set_queue(static_cast<int64_t>(queue_.size()), static_cast<int64_t>(active_.load()));
  }
  cv_.notify_one();
  return true;
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  std::lock_guard join(join_mu_);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Scheduler::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty() || !rows_.empty(); });
      if (stop_) break;
    }
    admit();
    step_rows();
    publish_queue();
  }
  for (const auto& row : rows_) row->job->end(kStopping);
  rows_.clear();
  std::lock_guard lock(mu_);
  for (const auto& job : queue_) job->end(kStopping);
  queue_.clear();
  active_ = 0;
  metrics_.set_queue(0, 0);
}

void Scheduler::admit() {
  while (rows_.size() < parallel_) {
    std::shared_ptr<Job> job;
    size_t index = 0;
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && queue_.front()->dropped()) {
        queue_.pop_front();
        front_admitted_ = 0;
      }
      if (queue_.empty()) return;
      job = queue_.front();
      index = front_admitted_++;
      if (front_admitted_ == job->request.prompts.size()) {
        queue_.pop_front();
        front_admitted_ = 0;
      }
    }
    try {  // the prefill runs here
      ChoiceEvent e;
      e.index = static_cast<int64_t>(index);
      rows_.push_back(std::make_unique<Row>(
          Row{job, std::move(e), gen::RowGeneration(blt_, lm_, job->request.prompts[index], index, job->request.opt)}));
    } catch (const std::exception& e) {
      job->end(std::string("generation failed: ") + e.what());
    }
  }
}

bool Scheduler::step_row(Row& row) {
  const int64_t g0 = row.gen.generated_global_steps();
  if (!row.gen.done()) {
    row.gen.step();
    ++step_ids_;
  }
  const gen::RowChunk c = row.gen.take();
  ChoiceEvent& p = row.pending;
  p.global_steps = row.gen.generated_global_steps();
  step_global_ += p.global_steps - g0;
  const bool stream = row.job->request.stream;
  if (stream) {
    p.text.append(c.text);
    p.patch_starts.insert(p.patch_starts.end(), c.patch_starts.begin(), c.patch_starts.end());
    p.entropies.insert(p.entropies.end(), c.entropies.begin(), c.entropies.end());
    p.ids.insert(p.ids.end(), c.ids.begin(), c.ids.end());
  }
  if (row.gen.done()) {
    p.result = row.gen.result();
    row.job->push(std::move(p));
    return true;
  }
  if (stream && !p.text.empty()) {
    const int64_t index = p.index;
    row.job->push(std::move(p));
    p = ChoiceEvent{};
    p.index = index;
  }
  return false;
}

void Scheduler::step_rows() {
  step_ids_ = step_global_ = 0;
  std::erase_if(rows_, [&](const std::unique_ptr<Row>& row) {
    if (row->job->dropped()) return true;
    try {
      return step_row(*row);
    } catch (const std::exception& e) {
      row->job->end(std::string("generation failed: ") + e.what());
      return true;
    }
  });
  if (step_ids_ > 0) metrics_.record_step(step_ids_, step_global_);
}

void Scheduler::publish_queue() {
  active_ = rows_.size();
  std::lock_guard lock(mu_);
  metrics_.set_queue(static_cast<int64_t>(queue_.size()), static_cast<int64_t>(rows_.size()));
}

}  // namespace blt::serve
