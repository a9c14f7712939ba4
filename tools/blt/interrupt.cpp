// Signal handlers raising the interrupt flag.
#include "tools/blt/interrupt.h"

#include <csignal>
#include <unistd.h>

namespace blt::cli {

namespace {
std::atomic<bool> g_stop{false};

void on_signal(int sig) {
  if (g_stop.exchange(true)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  const char msg[] = "\ninterrupt: finishing this step and saving a checkpoint (press again to abort)\n";
  [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
}
}  // namespace

const std::atomic<bool>& install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return g_stop;
}

}  // namespace blt::cli
