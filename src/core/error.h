// Error types of the library and the BLT_ASSERT invariant check.
// Library code throws; only tools/blt/main.cpp turns an error into a message
// and an exit code. Every message names what it is about: the op and both
// shapes, the file and tensor, the config field.
#pragma once

#include <stdexcept>
#include <string>

namespace blt {

// Base of every error the library throws on bad input (files, configs, arguments).
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Shapes that do not fit at an op boundary: "[rmsnorm] x (2,7,64) vs weight (32)".
struct ShapeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A file that cannot be opened, read or written; the message names the path.
struct IoError : Error {
  using Error::Error;
};

// A file whose content is malformed (safetensors, .pth, JSON); names file and field.
struct FormatError : Error {
  using Error::Error;
};

// A configuration with a missing, mistyped or unsupported field; names the field.
struct ConfigError : Error {
  using Error::Error;
};

// A broken internal invariant (a bug, not bad input): file and line are in the message.
struct InternalError : std::logic_error {
  using std::logic_error::logic_error;
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace blt

// Stays on in Release. Usage: BLT_ASSERT(n > 0) or BLT_ASSERT(n > 0, "n=" + std::to_string(n)).
#define BLT_ASSERT(cond, ...) \
  ((cond) ? (void)0 : ::blt::assert_fail(#cond, __FILE__, __LINE__, std::string{__VA_ARGS__}))
