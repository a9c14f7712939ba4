// `blt serve` through the binary: --help, every bad option refused with exit
// code 2 (1 for a bad model) and a message naming it before anything binds,
// and SIGTERM on a running server: a clean stop, exit 0.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const std::string kModel = "tests/golden/official_layout";

TEST(ServeCli, HelpNamesTheOptionsAndEndpoints) {
  const TempDir tmp;
  const auto r = run_blt({"serve", "--help"}, tmp.path());
  EXPECT_EQ(r.rc, 0) << r.err;
  for (const char* s : {"--model", "--host", "--port", "--parallel", "--queue", "--api-key", "--max-tokens",
                        "/v1/completions", "/metrics"})
    EXPECT_TRUE(contains(r.out, s)) << s;
}

TEST(ServeCli, BadOptionsExitNonZeroNamingTheOption) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"serve"}, "--model"},
      {{"serve", "--model", "no/such/dir"}, "--model"},
      {{"serve", "--model", kModel, "--port", "70000"}, "--port"},
      {{"serve", "--model", kModel, "--port", "http"}, "--port"},
      {{"serve", "--model", kModel, "--parallel", "0"}, "--parallel"},
      {{"serve", "--model", kModel, "--queue", "-1"}, "--queue"},
      {{"serve", "--model", kModel, "--max-tokens", "0"}, "--max-tokens"},
      {{"serve", "--model", kModel, "--bogus"}, "--bogus"},
  };
  const TempDir tmp;
  for (const auto& [args, option] : cases) {
    const auto r = run_blt(args, tmp.path());
    EXPECT_EQ(r.rc, 2) << args.back() << ": " << r.err;
    EXPECT_TRUE(contains(r.err, option)) << r.err;
    EXPECT_FALSE(contains(r.err, "http://")) << "it must not start: " << r.err;
  }
  const auto r = run_blt({"serve", "--model", "tests/golden", "--port", "0"}, tmp.path());
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "error: ")) << r.err;
}

TEST(ServeCli, SigtermStopsTheServerWithExitZero) {
  const TempDir tmp;
  const fs::path& dir = tmp.path();
  const auto started = [&] {
    std::ifstream in(dir / "stderr");
    std::stringstream ss;
    ss << in.rdbuf();
    return contains(ss.str(), "http://127.0.0.1:");
  };
  const auto r = run_blt_interrupting({"serve", "--model", kModel, "--port", "0"}, dir, started, SIGTERM);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "blt serve: stopped")) << r.err;
}

}  // namespace
}  // namespace blt::test
