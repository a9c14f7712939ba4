// Location of the shared fixtures.
#include "support/fixtures.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace blt::test {

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("BLT_SHARED_DIR")) return env;
  return "../shared";
}

namespace {
namespace fs = std::filesystem;

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Files of `golden` (a file or a folder) that are missing from `shared` or differ from it.
std::vector<std::string> differences(const fs::path& golden, const fs::path& shared) {
  std::vector<std::string> out;
  auto compare = [&](const fs::path& g, const fs::path& s) {
    if (!fs::exists(s) || bytes_of(g) != bytes_of(s)) out.push_back(g.string());
  };
  if (fs::is_directory(golden)) {
    for (const auto& e : fs::recursive_directory_iterator(golden))
      if (e.is_regular_file() && e.path().filename() != "README.md")
        compare(e.path(), shared / fs::relative(e.path(), golden));
  } else {
    compare(golden, shared);
  }
  return out;
}
}  // namespace

std::filesystem::path fixture(const std::string& relative) {
  const fs::path shared = shared_dir() / "fixtures" / relative;
  // The oracle fixtures are also committed (tests/golden/oracle), so the exactness tests run anywhere.
  const fs::path golden = fs::path("tests/golden") / relative;
  const bool have_shared = fs::exists(shared), have_golden = fs::exists(golden);
  if (have_shared && have_golden) {
    // Two copies must agree, or one of them is stale and a test would pass against the wrong one.
    for (const std::string& d : differences(golden, shared))
      ADD_FAILURE() << "fixture copies differ: " << d << " vs its original under " << shared.string();
  }
  const fs::path used = have_shared ? shared : have_golden ? golden : shared;
  std::cerr << "[fixture] " << relative << ": " << used.string()
            << (have_shared ? "" : have_golden ? " (committed copy; the shared folder was not found)" : " (missing)")
            << "\n";
  return used;
}

}  // namespace blt::test
