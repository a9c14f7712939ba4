// `blt experiment` through the binary: a micro run prints the table and its
// closing comparison line; bad settings exit 1 with a message naming the
// option and leave no --out behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "io/file.h"
#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

struct ExperimentFixture {
  TempDir tmp;
  ExperimentFixture() {
    std::ofstream(tmp.file("train.txt"), std::ios::binary)
        << io::read_file("data/sample/train.txt").substr(0, 16000);
    std::ofstream(tmp.file("valid.txt"), std::ios::binary)
        << io::read_file("data/sample/valid.txt").substr(0, 2000);
    std::ofstream(tmp.file("tiny.txt"), std::ios::binary) << "In the beginning";
  }
  // `blt experiment` on the fixture's corpus at a micro size, with `extra` flags overriding.
  Result run(const std::string& out, const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"experiment",
                                     "--valid",
                                     tmp.file("valid.txt"),
                                     "--width",
                                     "64",
                                     "--seq-len",
                                     "64",
                                     "--batch",
                                     "4",
                                     "--entropy-steps",
                                     "10",
                                     "--evals",
                                     "2",
                                     "--out",
                                     out,
                                     "--threads",
                                     "1"};
    for (const auto& [flag, fallback] :
         std::vector<std::pair<std::string, std::string>>{{"--data", tmp.file("train.txt")},
                                                          {"--budget", "5e9"},
                                                          {"--arms", "bpe,byte"},
                                                          {"--bpe-vocab", "400"}}) {
      const auto it = std::find(extra.begin(), extra.end(), flag);
      args.push_back(flag);
      args.push_back(it == extra.end() ? fallback : *(it + 1));
    }
    return run_blt(args, tmp.path());
  }
};

TEST(CliExperiment, MicroRunPrintsTheTableAndItsClosingLine) {
  ExperimentFixture f;
  const Result r = f.run(f.tmp.file("out"), {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "| entropy-model |") && contains(r.out, "| bpe |") &&
              contains(r.out, "| byte |"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "At 5e+09 training FLOPs per arm") && contains(r.out, "Counted:")) << r.out;
  EXPECT_TRUE(contains(r.err, "ETA")) << r.err;
}

TEST(CliExperiment, BadSettingsExitWithAMessageNamingTheOptionAndWriteNothing) {
  ExperimentFixture f;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--arms", "bpe,nope"}, "--arms: unknown arm 'nope'"},
      {{"--budget", "1e6"}, "--budget 1e+06 is too small"},
      {{"--data", f.tmp.file("tiny.txt")}, "--data: the training corpus holds"},
      {{"--bpe-vocab", "30000"}, "--bpe-vocab 30000 is larger than the training corpus supports"},
  };
  for (const auto& [flags, needle] : cases) {
    const std::string out = f.tmp.file("bad");
    const Result r = f.run(out, flags);
    EXPECT_EQ(r.rc, 1) << flags[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "error: " + needle)) << r.err;
    EXPECT_FALSE(fs::exists(out)) << flags[0];
  }
}

}  // namespace
}  // namespace blt::test
