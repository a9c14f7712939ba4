// Test helpers for configuration code: capture io::warn() messages for a
// scope, expect a ConfigError whose message names given fields, and get an error's message.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/json_fields.h"

namespace blt::test {

// Captures warnings for the lifetime of the object, then restores a stderr sink.
struct WarningCapture {
  std::vector<std::string> messages;
  WarningCapture() {
    io::set_warning_sink([this](const std::string& m) { messages.push_back(m); });
  }
  ~WarningCapture() {
    io::set_warning_sink([](const std::string& m) { std::cerr << "warning: " << m << "\n"; });
  }
};

// Runs fn, expects an exception of type E whose message contains every needle.
template <class E, class Fn>
void expect_error(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected an error";
  } catch (const E& e) {
    for (const std::string& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
  }
}

// Runs fn and returns the message of the exception of type E it throws (a test failure and "" if none).
template <class E, class Fn>
std::string error_message(Fn fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

template <class Fn>
void expect_config_error(Fn fn, const std::vector<std::string>& needles) {
  expect_error<ConfigError>(fn, needles);
}

}  // namespace blt::test
