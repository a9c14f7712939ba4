// `blt convert --to hf|official SRC DST` through the built binary, on tests/golden/official_layout:
// a converted directory serves `blt generate` and `blt entropy` exactly as the official one does;
// bad inputs (unknown --to, SRC without config.json, a non-empty DST, an HF config with a wrongly
// typed field) exit non-zero with the path or field named, and leave DST as it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/json_fields.h"
#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const fs::path kLayout = "tests/golden/official_layout";

Result convert(const std::string& to, const fs::path& src, const fs::path& dst, const fs::path& scratch,
               bool force = false) {
  std::vector<std::string> args = {"convert", "--to", to, src.string(), dst.string()};
  if (force) args.push_back("--force");
  return run_blt(args, scratch);
}

TEST(CliConvert, HelpNamesBothLayouts) {
  TempDir tmp;
  const Result r = run_blt({"convert", "--help"}, tmp.path());
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "--to") && contains(r.out, "official") && contains(r.out, "hf")) << r.out;
}

// `blt inspect` checks the HF files; both layouts generate the same greedy bytes and the same entropies.
TEST(CliConvert, ConvertedDirectoryServesTheModelCommands) {
  TempDir tmp;
  const fs::path hf = tmp.path() / "hf";
  const Result c = convert("hf", kLayout, hf, tmp.path());
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_TRUE(contains(c.out, hf.string())) << c.out;
  const Result inspect = run_blt({"inspect", hf.string()}, tmp.path());
  EXPECT_EQ(inspect.rc, 0) << inspect.err;
  EXPECT_TRUE(contains(inspect.out, "match the configuration (transformers layout, patcher included)"))
      << inspect.out;
  auto generate = [&](const fs::path& model) {
    return run_blt({"generate", "--model", model.string(), "--prompt", "In the beginning", "--greedy",
                    "--max-bytes", "24", "--json"},
                   tmp.path());
  };
  const Result a = generate(kLayout), b = generate(hf);
  ASSERT_EQ(a.rc, 0) << a.err;
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(nlohmann::json::parse(a.out).at("ids"), nlohmann::json::parse(b.out).at("ids"));
  write_raw((tmp.path() / "text.txt").string(), "And God said, Let there be light");
  auto entropy = [&](const fs::path& model) {
    return run_blt({"entropy", "--model", model.string(), (tmp.path() / "text.txt").string(), "--out",
                    (tmp.path() / (model.filename().string() + ".f32")).string()},
                   tmp.path());
  };
  const Result ea = entropy(kLayout / "entropy_model"), eb = entropy(hf);
  ASSERT_EQ(ea.rc, 0) << ea.err;
  ASSERT_EQ(eb.rc, 0) << eb.err;
  EXPECT_TRUE(read_raw((tmp.path() / "entropy_model.f32").string()) ==
              read_raw((tmp.path() / "hf.f32").string()));
}

TEST(CliConvert, UnknownLayoutIsAUsageError) {
  TempDir tmp;
  const Result r = convert("gguf", kLayout, tmp.path() / "out", tmp.path());
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(contains(r.err, "--to")) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "out"));
}

TEST(CliConvert, SourceWithoutConfigIsNamed) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "src");
  fs::copy_file(kLayout / "model.safetensors", tmp.path() / "src" / "model.safetensors");
  const Result r = convert("hf", tmp.path() / "src", tmp.path() / "out", tmp.path());
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, (tmp.path() / "src" / "config.json").string())) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "out"));
}

TEST(CliConvert, NonEmptyDestinationIsRefusedUnlessForced) {
  TempDir tmp, work;  // tmp: the binary's stdout/stderr files
  const fs::path dst = work.path() / "out";
  fs::create_directories(dst);
  write_raw((dst / "keep.txt").string(), "mine");
  const Result r = convert("hf", kLayout, dst, tmp.path());
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, dst.string()) && contains(r.err, "not empty")) << r.err;
  EXPECT_EQ(listing(dst), std::vector<std::string>{"keep.txt"});
  const Result f = convert("hf", kLayout, dst, tmp.path(), true);
  EXPECT_EQ(f.rc, 0) << f.err;
  EXPECT_EQ(listing(dst), (std::vector<std::string>{"config.json", "model.safetensors"}));
  EXPECT_EQ(listing(work.path()),
            (std::vector<std::string>{"out", "out/config.json", "out/model.safetensors"}));
}

TEST(CliConvert, WronglyTypedHfFieldIsNamedAndNothingWritten) {
  TempDir tmp, work;
  const fs::path hf = work.path() / "hf", dst = work.path() / "back";
  ASSERT_EQ(convert("hf", kLayout, hf, tmp.path()).rc, 0);
  nlohmann::json cfg = io::read_json_file((hf / "config.json").string());
  cfg["encoder_config"]["num_hidden_layers"] = "two";
  write_raw((hf / "config.json").string(), cfg.dump(2));
  const Result r = convert("official", hf, dst, tmp.path());
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "encoder_config") && contains(r.err, "num_hidden_layers")) << r.err;
  EXPECT_FALSE(fs::exists(dst));
  EXPECT_EQ(listing(work.path()), (std::vector<std::string>{"hf", "hf/config.json", "hf/model.safetensors"}));
}

}  // namespace
}  // namespace blt::test
