// Terminal progress for long commands: one self-overwriting line on a TTY,
// or a plain line every few seconds when stderr is a file or pipe; plus the
// formatting of durations, rates and bars.
#pragma once

#include <chrono>
#include <string>

namespace blt::cli {

class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();
  // Shows `text` now on a TTY; otherwise prints it if `force` or 5 s passed since the last line.
  void update(const std::string& text, bool force = false);
  // Ends the line (TTY) so later output starts on a fresh one.
  void finish();

 private:
  bool tty_;
  bool open_ = false;
  std::chrono::steady_clock::time_point last_;
};

// A progress line for work counted in bytes: "label [####....] 1.2 MB of 3.4 MB | 45 kB/s | ETA 1m02s".
class ByteProgress {
 public:
  explicit ByteProgress(std::string label);
  void update(double done, double total);
  void finish() { line_.finish(); }

 private:
  std::string label_;
  ProgressLine line_;
  std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);     // "1h02m", "3m12s", "42s"
std::string format_rate(double bytes_per_s);     // "45.2 kB/s"
std::string format_bytes(double bytes);          // "1.2 MB"
std::string progress_bar(double fraction, int width = 24);

}  // namespace blt::cli
