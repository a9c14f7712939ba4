// Ctrl-C handling for long commands: the first SIGINT/SIGTERM/SIGUSR1 only raises a
// flag that the training loop polls (it then checkpoints and returns); a
// second one terminates at once (or is ignored, under mpirun).
#pragma once

#include <atomic>

namespace blt::cli {

// Installs the handlers and returns the flag they raise. `message` (a string literal: printed from the signal
// handler) replaces the default "finishing this step and saving a checkpoint" line. With `once`, later
// signals are ignored rather than terminating (under mpirun, which follows a Ctrl-C with SIGTERM to every
// rank and SIGKILL after its odls_base_sigkill_timeout).
const std::atomic<bool>& install_interrupt_handler(const char* message = nullptr, bool once = false);

}  // namespace blt::cli
