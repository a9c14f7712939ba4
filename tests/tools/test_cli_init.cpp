// `blt init` through the built binary, by way of scripts/make_blt1b_random.sh --tiny (the blt-1b
// configuration shrunk): the directory it writes loads (`blt inspect` checks every tensor and keeps it bf16,
// with fp32 products and a notice where the CPU has no bf16 matrix engine; `blt eval` runs it at bf16),
// stores every tensor as BF16 with the configured shapes, is the same for a seed and differs across seeds; a
// missing config, a bad field and an existing output directory are refused naming the path or field, writing
// nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "blas/gemm_bf16.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

Result make_tiny(const fs::path& out, const fs::path& scratch, const std::string& seed = "0") {
  return run_program(
      {"bash", "scripts/make_blt1b_random.sh", "--tiny", "--blt", BLT_BINARY, "--seed", seed, out.string()},
      scratch);
}

TEST(CliInit, TinyBlt1bLoadsAndIsStoredInBf16) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  const Result r = make_tiny(dir, tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* f : {"model.safetensors", "entropy_model/model.safetensors"}) {
    const auto file = io::SafetensorsFile::open((dir / f).string());
    for (const auto& name : file.names()) EXPECT_EQ(file.info(name).dtype, "BF16") << f << ": " << name;
  }
  const auto blt = io::SafetensorsFile::open((dir / "model.safetensors").string());
  EXPECT_EQ(blt.info("encoder_hash_tok_embedding.5.weight").shape, (std::vector<int64_t>{509, 32}));
  EXPECT_FALSE(blt.contains("encoder_hash_tok_embedding.6.weight"));  // 6 n-gram sizes x 1 function
  const Result inspect = run_blt({"inspect", dir.string(), "--precision", "bf16"}, tmp.path());
  ASSERT_EQ(inspect.rc, 0) << inspect.err;
  if (blas::has_bf16_matmul()) {
    EXPECT_TRUE(contains(inspect.out, "storage (--precision bf16): bf16 as stored (mmapped);"))
        << inspect.out;
  } else {
    EXPECT_TRUE(contains(inspect.out, "storage (--precision bf16): bf16 as stored (mmapped), fp32 products;"))
        << inspect.out;
    EXPECT_TRUE(contains(inspect.err, "using fp32 products (bf16 weights used as stored)")) << inspect.err;
  }
  write_raw(tmp.file("t.txt"), "In the beginning God created the heaven and the earth.");
  const Result eval =
      run_blt({"eval", "--model", dir.string(), tmp.file("t.txt"), "--precision", "bf16"}, tmp.path());
  EXPECT_EQ(eval.rc, 0) << eval.err;
}

TEST(CliInit, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir tmp;
  ASSERT_EQ(make_tiny(tmp.path() / "a", tmp.path(), "7").rc, 0);
  ASSERT_EQ(make_tiny(tmp.path() / "b", tmp.path(), "7").rc, 0);
  ASSERT_EQ(make_tiny(tmp.path() / "c", tmp.path(), "8").rc, 0);
  auto bytes = [&](const char* d) { return io::read_file((tmp.path() / d / "model.safetensors").string()); };
  EXPECT_EQ(bytes("a"), bytes("b"));
  EXPECT_NE(bytes("a"), bytes("c"));
}

TEST(CliInit, BadInputsAreRefusedNamingThePathOrField) {
  TempDir tmp;
  const Result missing =
      run_blt({"init", "--config", tmp.file("none.json"), "--out", tmp.file("o")}, tmp.path());
  EXPECT_NE(missing.rc, 0);
  EXPECT_TRUE(contains(missing.err, "none.json")) << missing.err;
  write_raw(tmp.file("bad.json"), R"({"args": {"dim_global": "wide", "patching_mode": "space"}})");
  const Result bad = run_blt({"init", "--config", tmp.file("bad.json"), "--out", tmp.file("o")}, tmp.path());
  EXPECT_NE(bad.rc, 0);
  EXPECT_TRUE(contains(bad.err, "dim_global")) << bad.err;
  // configs/blt_demo.json: entropy patching, and no --entropy-config.
  const std::string demo = (fs::current_path() / "configs/blt_demo.json").string();
  const Result no_entropy = run_blt({"init", "--config", demo, "--out", tmp.file("o")}, tmp.path());
  EXPECT_NE(no_entropy.rc, 0);
  EXPECT_TRUE(contains(no_entropy.err, "--entropy-config")) << no_entropy.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "o"));
  fs::create_directories(tmp.path() / "taken");
  const Result taken = run_blt({"init", "--config", demo, "--out", tmp.file("taken")}, tmp.path());
  EXPECT_NE(taken.rc, 0);
  EXPECT_TRUE(contains(taken.err, "exists")) << taken.err;
  EXPECT_TRUE(fs::is_empty(tmp.path() / "taken"));
  const Result script = make_tiny(tmp.path() / "taken", tmp.path());
  EXPECT_NE(script.rc, 0);
  EXPECT_TRUE(contains(script.err, "exists")) << script.err;
}

}  // namespace
}  // namespace blt::test
