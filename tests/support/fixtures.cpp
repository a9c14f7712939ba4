// Location of the shared fixtures.
#include "support/fixtures.h"

#include <cstdlib>

namespace blt::test {

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("BLT_SHARED_DIR")) return env;
  return "../shared";
}

std::filesystem::path fixture(const std::string& relative) { return shared_dir() / "fixtures" / relative; }

}  // namespace blt::test
