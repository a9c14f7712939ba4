// --precision through the binary: an unknown value is refused naming the
// option; `train-entropy --precision bf16` records bf16 in run.json and in
// its metrics lines, and a resume may switch precision (recorded per line);
// `eval --precision bf16` reports bits per byte within 1% of fp32; and on a
// CPU whose bf16 engine is capped away (oneDNN's ONEDNN_MAX_CPU_ISA) bf16
// falls back to fp32 products with a one-line notice, the weights kept as
// stored. bf16 uses the golden BLT's BF16 weights as stored (eval's "weights",
// inspect's storage line); fp32 converts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "blas/gemm_bf16.h"
#include "io/json_fields.h"
#include "tools/train_runs.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const char* kBlt = "tests/golden/official_layout";
const char* kNotice = "--precision bf16: this CPU has no bf16 matrix engine (AMX/AVX512-BF16); using fp32";

// The "precision" field of every metrics line, in order.
std::vector<std::string> logged_precisions(const std::string& out) {
  std::vector<std::string> p;
  std::istringstream in(read_raw(out + "/metrics.jsonl"));
  for (std::string l; std::getline(in, l);) p.push_back(nlohmann::json::parse(l).at("precision"));
  return p;
}

TEST(CliPrecision, UnknownValueIsRefusedNamingTheOption) {
  TrainFixture f;
  write_raw(f.out("t.txt"), "In the beginning.");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"eval", "--model", kBlt, f.out("t.txt"), "--precision", "bogus"},
        f.args(f.out("out"), {"--precision", "fp16"})}) {
    const Result r = f.run(args);
    EXPECT_NE(r.rc, 0) << args[0];
    EXPECT_TRUE(contains(r.err, "--precision")) << args[0] << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(f.out("out")));
}

TEST(CliPrecision, TrainRecordsBf16AndAResumeMaySwitch) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  TrainFixture f;
  const std::string out = f.out("out");
  const Result r = f.run(f.args(out, {"--precision", "bf16"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(io::read_json_file(out + "/run.json").at("precision"), "bf16");
  EXPECT_EQ(logged_precisions(out), std::vector<std::string>(12, "bf16"));
  const Result more =
      f.run({"train-entropy", "--out", out, "--resume", "--steps", "14", "--precision", "fp32"});
  ASSERT_EQ(more.rc, 0) << more.err;
  std::vector<std::string> want(12, "bf16");
  want.insert(want.end(), {"fp32", "fp32"});
  EXPECT_EQ(logged_precisions(out), want);
  // Without --precision a resume keeps the run's (run.json).
  const Result again = f.run({"train-entropy", "--out", out, "--resume", "--steps", "15"});
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(logged_precisions(out).back(), "bf16");
}

double eval_bpb(TrainFixture& f, const std::string& precision) {
  const Result r =
      f.run({"eval", "--model", kBlt, f.data, "--json", "--max-bytes", "1024", "--precision", precision});
  EXPECT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("precision"), precision);
  EXPECT_EQ(j.at("weights"), precision == "bf16" ? "bf16 as stored (mmapped)" : "float32");
  return j.at("bpb").get<double>();
}

TEST(CliPrecision, EvalInBf16IsWithinOnePercentOfFp32) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  TrainFixture f;
  const double fp32 = eval_bpb(f, "fp32"), bf16 = eval_bpb(f, "bf16");
  EXPECT_NE(bf16, fp32) << "the bf16 path did not run";
  EXPECT_NEAR(bf16, fp32, 0.01 * fp32);
}

// Without the engine, bf16 (with the notice) and auto (silently) keep the BF16 weights as stored and
// multiply them in float32: the bits per byte of the float32 conversion (the same values, the same
// products; summation order aside).
TEST(CliPrecision, Bf16WithoutAnEngineFallsBackToFp32WithANotice) {
  TrainFixture f;
  const auto capped = [&](const std::string& precision) {
    return run_program({"env", "ONEDNN_MAX_CPU_ISA=AVX512_CORE", BLT_BINARY, "eval", "--model", kBlt, f.data,
                        "--json", "--max-bytes", "256", "--precision", precision},
                       f.tmp.path());
  };
  const Result fp32 = capped("fp32");
  ASSERT_EQ(fp32.rc, 0) << fp32.err;
  EXPECT_EQ(nlohmann::json::parse(fp32.out).at("weights"), "float32");
  const double want = nlohmann::json::parse(fp32.out).at("bpb").get<double>();
  const Result r = capped("bf16");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.err, kNotice + std::string(" products (bf16 weights used as stored)"))) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("precision"), "fp32");
  EXPECT_EQ(j.at("weights"), "bf16 as stored (mmapped), fp32 products");
  EXPECT_NEAR(j.at("bpb").get<double>(), want, 1e-5 * want);
  const Result quiet = capped("auto");
  ASSERT_EQ(quiet.rc, 0) << quiet.err;
  EXPECT_FALSE(contains(quiet.err, "bf16")) << "auto falls back silently: " << quiet.err;
  EXPECT_EQ(nlohmann::json::parse(quiet.out).at("weights"), "bf16 as stored (mmapped), fp32 products");
}

// inspect says how each precision would hold the weights: the BLT's BF16 matrices as stored (bf16 products,
// or fp32 ones on a CPU without a bf16 engine), the entropy model's float32 ones (consolidated.pth)
// converted, with a mirror where the products are bf16.
TEST(CliPrecision, InspectShowsTheWeightStorage) {
  const bool engine = blas::has_bf16_matmul();
  const std::string stored =
      engine ? "bf16 as stored (mmapped); " : "bf16 as stored (mmapped), fp32 products; ";
  TrainFixture f;
  const Result bf16 = f.run({"inspect", kBlt, "--precision", "bf16"});
  ASSERT_EQ(bf16.rc, 0) << bf16.err;
  EXPECT_TRUE(contains(bf16.out, "storage (--precision bf16): " + stored + "memory planned: ")) << bf16.out;
  EXPECT_TRUE(contains(bf16.out, "(hash tables file-backed)")) << bf16.out;
  EXPECT_TRUE(contains(bf16.out, engine ? "storage (--precision bf16): float32 + bf16 mirror;"
                                        : "storage (--precision bf16): float32;"))
      << bf16.out;
  const Result fp32 = f.run({"inspect", kBlt, "--precision", "fp32"});
  ASSERT_EQ(fp32.rc, 0) << fp32.err;
  EXPECT_TRUE(contains(fp32.out, "storage (--precision fp32): float32; memory planned: ")) << fp32.out;
  // The default is auto: the weights as stored, whatever the CPU.
  const Result dflt = f.run({"inspect", kBlt});
  ASSERT_EQ(dflt.rc, 0) << dflt.err;
  EXPECT_TRUE(contains(dflt.out, "storage (--precision auto): " + stored)) << dflt.out;
}

}  // namespace
}  // namespace blt::test
