// The handler/scheduler channel of one request.
#include "serve/job.h"

namespace blt::serve {

bool Job::wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const auto over = [&] { return ended_ || cancelled_ || finished_ == request.prompts.size(); };
  cv_.wait_for(lock, timeout, [&] { return !events_.empty() || over(); });
  for (ChoiceEvent& e : events_) out.push_back(std::move(e));
  events_.clear();
  return !over() || !out.empty();
}

void Job::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

std::string Job::ended_because() const {
  std::lock_guard lock(mu_);
  return why_;
}

bool Job::dropped() const {
  std::lock_guard lock(mu_);
  return cancelled_ || ended_;
}

void Job::push(ChoiceEvent e) {
  std::lock_guard lock(mu_);
  if (e.result) ++finished_;
  events_.push_back(std::move(e));
  cv_.notify_all();
}

void Job::end(std::string why) {
  std::lock_guard lock(mu_);
  ended_ = true;
  why_ = std::move(why);
  cv_.notify_all();
}

}  // namespace blt::serve
