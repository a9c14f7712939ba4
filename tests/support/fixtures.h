// Access to the shared reference fixtures (../shared/fixtures). Tests that need
// them call BLT_REQUIRE_FIXTURE(path), which skips with a visible message when
// the shared folder is absent.
#pragma once

#include <filesystem>
#include <string>

namespace blt::test {

// $BLT_SHARED_DIR, else "../shared" relative to the project root (the tests' working directory).
std::filesystem::path shared_dir();
// shared_dir()/fixtures/relative, else its committed copy under tests/golden/ (oracle fixtures only).
std::filesystem::path fixture(const std::string& relative);

}  // namespace blt::test

#define BLT_REQUIRE_FIXTURE(path)                                                           \
  do {                                                                                      \
    if (!std::filesystem::exists(path))                                                     \
      GTEST_SKIP() << "reference fixture not found: " << (path).string()                   \
                   << " (set BLT_SHARED_DIR to the shared folder to run this test)";        \
  } while (0)
