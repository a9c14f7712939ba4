// Signal handlers raising the interrupt flag.
#include "tools/blt/interrupt.h"

#include <csignal>
#include <cstring>
#include <unistd.h>

namespace blt::cli {

namespace {
std::atomic<bool> g_stop{false};
const char* g_message = "\ninterrupt: finishing this step and saving a checkpoint (press again to abort)\n";

bool g_once = false;

void on_signal(int sig) {
  if (g_stop.exchange(true)) {
    if (g_once) return;
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  [[maybe_unused]] auto n = ::write(2, g_message, std::strlen(g_message));
}
}  // namespace

const std::atomic<bool>& install_interrupt_handler(const char* message, bool once) {
  if (message) g_message = message;
  g_once = once;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGUSR1, on_signal);  // mpirun forwards it to every rank at once (SIGINT it turns into a kill)
  return g_stop;
}

}  // namespace blt::cli
