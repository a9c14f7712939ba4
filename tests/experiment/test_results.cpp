// results.jsonl round trip and the table's closing line: a BLT that ends
// worse than its own entropy model is stated, and what is counted is said.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "experiment/results.h"
#include "io/temp_dir.h"

namespace blt::experiment {
namespace {

ArmResult result(const std::string& arm, double bpb) {
  ArmResult r;
  r.arm = arm;
  r.params = 1000;
  r.steps = 20;
  r.mean_patch_bytes = 4.2;
  r.train_flops = 1e12;
  r.valid_bpb = bpb;
  r.curve = {{10, 5e11, bpb + 0.5}, {20, 1e12, bpb}};
  return r;
}

TEST(ExperimentResults, RoundTripThroughResultsJsonl) {
  test::TempDir tmp;
  std::vector<ArmResult> rs = {result("entropy-model", 2.0), result("bpe", 2.2), result("blt-entropy", 2.1)};
  rs[0].extra["patching_flops"] = 3.2e12;
  write_results(tmp.path().string(), rs, 1e12);
  const auto back = read_results(tmp.file("results.jsonl"));
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < rs.size(); ++i) EXPECT_EQ(to_json(back[i]), to_json(rs[i]));
  std::ofstream(tmp.file("bad.jsonl")) << to_json(rs[0]).dump() << "\n{\"arm\": 3}\n";
  EXPECT_THROW(read_results(tmp.file("bad.jsonl")), ConfigError);
}

TEST(ExperimentResults, TheClosingLineStatesABltWorseThanItsEntropyModelAndWhatIsCounted) {
  std::vector<ArmResult> rs = {result("entropy-model", 2.0), result("bpe", 2.2), result("blt-entropy", 2.1),
                               result("byte", 3.0)};
  rs[0].extra["patching_flops"] = 3.2e12;
  rs[0].inference_flops_per_byte = 5e4;
  const std::string md = results_markdown(rs, 1e12);
  EXPECT_NE(md.find("| blt-entropy | 1000 | 20 | 4.20 | 1e+12 |"), std::string::npos) << md;
  EXPECT_NE(md.find("the best BLT (blt-entropy) reaches 2.100"), std::string::npos) << md;
  EXPECT_NE(md.find("the entropy model alone 2.000 (better than every BLT here)"), std::string::npos) << md;
  EXPECT_NE(md.find("its forwards over the training split that entropy patching reads (3.2e+12 FLOPs)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("entropy-patched BLTs add its 5e+04."), std::string::npos) << md;
  rs[0].extra["given"] = "models/entropy-kjv";
  EXPECT_NE(results_markdown(rs, 1e12).find("own training (given, trained elsewhere)"), std::string::npos);
  rs[2].valid_bpb = 1.9;
  EXPECT_EQ(results_markdown(rs, 1e12).find("better than every BLT"), std::string::npos);
}

}  // namespace
}  // namespace blt::experiment
