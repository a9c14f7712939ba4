// Ctrl-C handling for long commands: the first SIGINT/SIGTERM only raises a
// flag that the training loop polls (it then checkpoints and returns); a
// second one terminates at once.
#pragma once

#include <atomic>

namespace blt::cli {

// Installs the handlers and returns the flag they raise.
const std::atomic<bool>& install_interrupt_handler();

}  // namespace blt::cli
