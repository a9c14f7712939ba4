// Option checks whose messages name the value plainly ("--chunk: must be > 0,
// got 0"), where CLI11's built-in range checks print their numeric limits.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace blt::cli {

// A check of one number: `ok(v)` or the message "<what>, got <value>".
template <class Ok>
CLI::Validator number_check(Ok ok, const std::string& what, const std::string& name) {
  return CLI::Validator(
      [ok, what](std::string& s) -> std::string {
        double v = 0;
        return CLI::detail::lexical_cast(s, v) && ok(v) ? "" : what + ", got " + s;
      },
      name);
}

inline CLI::Validator positive() { return number_check([](double v) { return v > 0; }, "must be > 0", ">0"); }
inline CLI::Validator non_negative() { return number_check([](double v) { return v >= 0; }, "must be >= 0", ">=0"); }
inline CLI::Validator unit_interval() {
  return number_check([](double v) { return v > 0 && v <= 1; }, "must be in (0, 1]", "(0,1]");
}

}  // namespace blt::cli
