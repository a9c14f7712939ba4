// Location of the shared fixtures.
#include "support/fixtures.h"

#include <cstdlib>

namespace blt::test {

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("BLT_SHARED_DIR")) return env;
  return "../shared";
}

std::filesystem::path fixture(const std::string& relative) {
  const std::filesystem::path shared = shared_dir() / "fixtures" / relative;
  if (std::filesystem::exists(shared)) return shared;
  // The oracle fixtures are also committed (tests/golden/oracle), so the exactness tests run anywhere.
  const std::filesystem::path golden = std::filesystem::path("tests/golden") / relative;
  return std::filesystem::exists(golden) ? golden : shared;
}

}  // namespace blt::test
