// Counters and the Prometheus exposition.
#include "serve/metrics.h"

#include <sstream>

namespace blt::serve {

namespace {
constexpr auto kWindow = std::chrono::seconds(5);  // the span blt_bytes_per_second averages over
}

void Metrics::count_request() {
  std::lock_guard lock(mu_);
  ++requests_;
}

void Metrics::record_step(int64_t bytes, int64_t global_steps) {
  std::lock_guard lock(mu_);
  bytes_ += bytes;
  global_steps_ += global_steps;
  const auto now = Clock::now();
  recent_.emplace_back(now, bytes_);
  while (recent_.size() > 1 && now - recent_.front().first > kWindow) recent_.pop_front();
}

void Metrics::set_queue(int64_t queue_depth, int64_t active_rows) {
  std::lock_guard lock(mu_);
  queue_ = queue_depth;
  active_ = active_rows;
}

int64_t Metrics::active_rows() const {
  std::lock_guard lock(mu_);
  return active_;
}

int64_t Metrics::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_;
}

double Metrics::bytes_per_second_locked() const {
  if (recent_.size() < 2 || Clock::now() - recent_.back().first > kWindow) return 0;
  const double s = std::chrono::duration<double>(recent_.back().first - recent_.front().first).count();
  return s > 0 ? static_cast<double>(recent_.back().second - recent_.front().second) / s : 0;
}

std::string Metrics::prometheus() const {
  std::lock_guard lock(mu_);
  std::ostringstream o;
  const auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
  };
  metric("blt_requests_total", "counter", "HTTP requests answered.", requests_);
  metric("blt_bytes_generated_total", "counter", "Ids generated (bytes, EOS included).", bytes_);
  metric("blt_bytes_per_second", "gauge", "Generated ids per second over the last 5 seconds.",
         bytes_per_second_locked());
  metric("blt_queue_depth", "gauge", "Requests waiting for a row.", queue_);
  metric("blt_active_rows", "gauge", "Rows in the generation batch.", active_);
  metric("blt_global_steps_per_byte", "gauge", "Global-model steps per generated id, since the start.",
         bytes_ > 0 ? static_cast<double>(global_steps_) / static_cast<double>(bytes_) : 0.0);
  return o.str();
}

}  // namespace blt::serve
