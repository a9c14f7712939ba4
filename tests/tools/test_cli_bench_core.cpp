// `blt bench core --precision bf16` in its smallest configuration: the bf16 figures (matmul peak,
// ISA, oneDNN f32) are there beside the fp32 ones; without a bf16 engine (oneDNN's ISA capped by
// ONEDNN_MAX_CPU_ISA) it prints the one-line notice and measures fp32 only, as without --precision.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "blas/gemm_bf16.h"
#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

const std::vector<std::string> kSmallest = {"bench", "core", "--json", "--tokens", "32", "--dim", "32", "--seq", "32",
                                            "--window", "8", "--seconds", "0.01", "--precision", "bf16"};

TEST(CliBench, CoreBf16AddsTheBf16Peak) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (bf16_isa " << blas::bf16_isa() << ")";
  TempDir tmp;
  const Result r = run_blt(kSmallest, tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("precision"), "bf16");
  EXPECT_EQ(j.at("bf16_isa"), blas::bf16_isa());
  for (const char* k : {"sgemm_gflops", "bf16_matmul_peak_gflops", "bf16_peak_vs_sgemm", "onednn_f32_matmul_gflops"})
    EXPECT_GT(j.at(k).get<double>(), 0) << k;
}

TEST(CliBench, CoreBf16WithoutAnEngineIsFp32WithANotice) {
  TempDir tmp;
  std::vector<std::string> argv = {"env", "ONEDNN_MAX_CPU_ISA=AVX512_CORE", BLT_BINARY};
  argv.insert(argv.end(), kSmallest.begin(), kSmallest.end());
  const Result r = run_program(argv, tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "no bf16 matrix engine")) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_GT(j.at("sgemm_gflops").get<double>(), 0);
  EXPECT_FALSE(j.contains("bf16_matmul_peak_gflops")) << r.out;
  EXPECT_FALSE(j.contains("precision")) << r.out;
}

}  // namespace
}  // namespace blt::test
