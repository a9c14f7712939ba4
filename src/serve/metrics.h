// Server metrics in the Prometheus text format: requests, bytes generated,
// recent throughput, queue depth, active rows, global steps per byte. The
// scheduler thread records steps; handlers read a snapshot under a mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace blt::serve {

class Metrics {
 public:
  void count_request();
  // One scheduler step: `bytes` generated ids and `global_steps` global-model steps, over every row.
  void record_step(int64_t bytes, int64_t global_steps);
  void set_queue(int64_t queue_depth, int64_t active_rows);

  int64_t active_rows() const;
  int64_t queue_depth() const;
  // The exposition: one `# HELP`, `# TYPE` and sample line per metric.
  std::string prometheus() const;

 private:
  using Clock = std::chrono::steady_clock;
  // Bytes per second over the last few seconds of steps (0 when idle for that long).
  double bytes_per_second_locked() const;

  mutable std::mutex mu_;
  int64_t requests_ = 0, bytes_ = 0, global_steps_ = 0, queue_ = 0, active_ = 0;
  std::deque<std::pair<Clock::time_point, int64_t>> recent_;  // (time, bytes_ after the step) of recent steps
};

}  // namespace blt::serve
