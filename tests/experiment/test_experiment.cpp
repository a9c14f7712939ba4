// A micro `blt experiment` end to end (a few KB of data/sample, width 64,
// rows of 64 bytes, the arms bpe, blt-entropy and byte after a 20-step
// entropy model): the results are complete, every BPB is finite and below 8,
// every arm's executed training FLOPs are within 5% of the budget; a rerun
// retrains nothing; the entropy model given to another experiment is only
// evaluated; an arm stopped midway resumes from its checkpoint; and
// bad settings are refused before anything is written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "experiment/experiment.h"
#include "experiment/results.h"
#include "io/file.h"
#include "io/temp_dir.h"

namespace blt::experiment {
namespace {

namespace fs = std::filesystem;

struct Micro {
  test::TempDir tmp;
  ExperimentOptions o;
  Micro() {
    const std::string text = io::read_file("data/sample/train.txt");
    std::ofstream(tmp.file("train.txt"), std::ios::binary) << text.substr(0, 24000);
    std::ofstream(tmp.file("valid.txt"), std::ios::binary)
        << io::read_file("data/sample/valid.txt").substr(0, 3000);
    o.data = {tmp.file("train.txt")};
    o.valid = {tmp.file("valid.txt")};
    o.budget = 5e9;
    o.arms = "bpe,blt-entropy,byte";
    o.bpe_vocab = 400;
    o.entropy_steps = 20;
    o.seq_len = 64;
    o.batch = 4;
    o.width = 64;
    o.evals = 3;
    o.out = tmp.file("out");
  }
  // Runs the experiment; counts the progress reports and stops after `stop_after` of them (0: never).
  bool run(int64_t stop_after = 0, int64_t* reports = nullptr, std::vector<Progress>* seen = nullptr) {
    std::atomic<bool> stop{false};
    int64_t n = 0;
    const bool done = run_experiment(
        o, stop,
        [&](const Progress& p) {
          if (seen) seen->push_back(p);
          if (++n == stop_after) stop = true;
        },
        [](const std::string&) {});
    if (reports) *reports = n;
    return done;
  }
};

TEST(Experiment, MicroRunIsCompleteAtEqualTrainingFlopsAndARerunRetrainsNothing) {
  Micro m;
  ASSERT_TRUE(m.run());
  const auto results = read_results(m.o.out + "/results.jsonl");
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].arm, "entropy-model");
  for (const auto& r : results) {
    EXPECT_TRUE(std::isfinite(r.valid_bpb) && r.valid_bpb > 0 && r.valid_bpb < 8)
        << r.arm << " " << r.valid_bpb;
    EXPECT_GT(r.params, 0) << r.arm;
    EXPECT_GT(r.inference_flops_per_byte, 0) << r.arm;
    EXPECT_FALSE(r.curve.empty()) << r.arm;
    if (r.arm == "entropy-model") continue;
    EXPECT_NEAR(r.train_flops / m.o.budget, 1.0, 0.05) << r.arm;
    EXPECT_GE(r.curve.size(), 3u) << r.arm;
  }
  EXPECT_EQ(results[1].arm, "bpe");
  EXPECT_GT(results[1].mean_patch_bytes, 1.2);  // bytes per BPE token
  EXPECT_EQ(results[3].arm, "byte");
  EXPECT_EQ(results[3].mean_patch_bytes, 1.0);
  const std::string md = io::read_file(m.o.out + "/results.md");
  for (const char* arm : {"| entropy-model |", "| bpe |", "| blt-entropy |", "| byte |", "Counted:"})
    EXPECT_NE(md.find(arm), std::string::npos) << arm << "\n" << md;
  const std::string svg = io::read_file(m.o.out + "/bpb_vs_flops.svg");
  for (const char* arm : {"data-arm=\"bpe\"", "data-arm=\"blt-entropy\"", "data-arm=\"byte\"",
                          "training FLOPs", "valid bits per byte", "class=\"legend\""})
    EXPECT_NE(svg.find(arm), std::string::npos) << arm;

  const std::string before = io::read_file(m.o.out + "/results.jsonl");
  int64_t reports = -1;
  ASSERT_TRUE(m.run(0, &reports));
  EXPECT_EQ(reports, 0);  // nothing trained again
  EXPECT_EQ(io::read_file(m.o.out + "/results.jsonl"), before);

  // The trained entropy model given to another experiment: its row is evaluated, not trained again.
  Micro given;
  given.o.entropy_model = m.o.out + "/entropy-model";
  given.o.valid = m.o.valid;
  given.o.arms = "blt-static-4";
  ASSERT_TRUE(given.run());
  const auto again = read_results(given.o.out + "/results.jsonl");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].arm, "entropy-model");
  EXPECT_TRUE(again[0].extra.contains("given"));
  EXPECT_EQ(again[0].train_flops, 0);
  EXPECT_NEAR(again[0].valid_bpb, results[0].valid_bpb, 1e-4);
  EXPECT_FALSE(fs::exists(given.o.out + "/entropy-model"));
}

TEST(Experiment, AnArmStoppedMidwayResumesFromItsCheckpoint) {
  Micro m;
  m.o.arms = "byte";
  std::vector<Progress> first, second;
  ASSERT_FALSE(m.run(20 + 12, nullptr, &first));  // the entropy model's 20 steps, then 12 of the byte arm's
  EXPECT_EQ(first.back().stage, "byte");
  EXPECT_EQ(read_results(m.o.out + "/results.jsonl").size(), 1u);  // the entropy model only
  ASSERT_TRUE(m.run(0, nullptr, &second));
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(second.front().stage, "byte");
  EXPECT_EQ(second.front().step, first.back().step + 1);  // from the checkpoint of the stop, not from step 1
  const auto results = read_results(m.o.out + "/results.jsonl");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_NEAR(results[1].train_flops / m.o.budget, 1.0, 0.05);
}

TEST(Experiment, BadSettingsAreRefusedNamingTheOptionBeforeAnythingIsWritten) {
  Micro m;
  std::ofstream(m.tmp.file("tiny.txt")) << "In the beginning";
  const std::vector<std::pair<std::function<void(ExperimentOptions&)>, std::string>> cases = {
      {[](ExperimentOptions& o) { o.arms = "bpe,blt-foo"; }, "--arms: unknown arm 'blt-foo'"},
      {[](ExperimentOptions& o) { o.budget = 1e6; }, "--budget 1e+06 is too small for arm"},
      {[&](ExperimentOptions& o) { o.data = {m.tmp.file("tiny.txt")}; }, "fewer than one row"},
      {[](ExperimentOptions& o) { o.bpe_vocab = 30000; },
       "--bpe-vocab 30000 is larger than the training corpus"},
      {[](ExperimentOptions& o) { o.width = 100; }, "--width 100"},
      {[](ExperimentOptions& o) { o.width = 4096; }, "arm bpe (--width 4096, --batch 4, --seq-len 64)"},
  };
  for (const auto& [change, needle] : cases) {
    ExperimentOptions o = m.o;
    change(o);
    std::atomic<bool> stop{false};
    try {
      run_experiment(o, stop, {}, {});
      ADD_FAILURE() << needle << ": no error";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(o.out)) << needle;
  }
}

}  // namespace
}  // namespace blt::experiment
