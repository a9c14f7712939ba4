// ProgressLine and number formatting.
#include "tools/blt/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace blt::cli {

ProgressLine::ProgressLine() : tty_(::isatty(2) != 0), last_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(const std::string& text, bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    std::cerr << "\r" << text << "\033[K" << std::flush;
    open_ = true;
  } else if (force || now - last_ >= std::chrono::seconds(5)) {
    std::cerr << text << "\n" << std::flush;
    last_ = now;
  }
}

void ProgressLine::finish() {
  if (tty_ && open_) std::cerr << "\n" << std::flush;
  open_ = false;
}

ByteProgress::ByteProgress(std::string label) : label_(std::move(label)), start_(std::chrono::steady_clock::now()) {}

void ByteProgress::update(double done, double total) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = done / std::max(s, 1e-9);
  line_.update(label_ + " " + progress_bar(total > 0 ? done / total : 1) + " " + format_bytes(done) + " of " +
               format_bytes(total) + " | " + format_rate(rate) + " | ETA " +
               format_duration(done > 0 ? (total - done) / rate : -1));
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string format_rate(double bytes_per_s) { return format_bytes(bytes_per_s) + "/s"; }

std::string progress_bar(double fraction, int width) {
  const int full = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width);
  return "[" + std::string(full, '#') + std::string(width - full, '.') + "]";
}

}  // namespace blt::cli
