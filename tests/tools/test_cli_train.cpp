// `blt train-entropy` refusing what would harm a run, through the binary:
// invalid settings before anything is written, a non-empty --out, NaN/Inf
// (a diverging --lr, NaN weights in a resumed checkpoint) stopping with the
// step and tensor named and the last good checkpoint kept, stale temporaries
// of a killed run removed at the next start, and an unusable newest
// checkpoint named on --resume (with its fallback to the previous one).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "tools/train_runs.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

TEST(CliTrainGuards, InvalidSettingsAreRefusedBeforeAnythingIsWritten) {
  TrainFixture f;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--batch", "0"}, "'batch'"},
      {{"--steps", "-5"}, "'steps'"},
      {{"--lr", "nan"}, "'lr'"},
      {{"--lr", "0"}, "'lr'"},
      {{"--keep", "-1"}, "'keep'"},
      {{"--warmup", "-1"}, "'warmup'"},
      {{"--clip", "nan"}, "'clip'"},
      {{"--grad-accum", "0"}, "'grad_accum'"},
      {{"--log-every", "0"}, "'log_every'"},
      {{"--seq-len", "64"}, "max_seqlen"},
      {{"--valid-bytes", "-1"}, "--valid-bytes"}};
  for (const auto& [flags, needle] : cases) {
    const std::string out = f.out("out");
    const Result r = f.run(f.args(out, flags));
    EXPECT_EQ(r.rc, 1) << flags[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "error:") && contains(r.err, needle)) << flags[0] << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << flags[0] << " wrote into --out";
  }
}

TEST(CliTrainGuards, BltTrainChecksItsFlagsBeforeWriting) {
  // Space patching with --entropy-cache: refused before config.json or weights exist.
  TrainFixture f;
  const std::string cfg = f.out("blt.json"), cache = f.out("cache"), out = f.out("out");
  write_raw(cfg, tiny_blt_config("space", R"({"steps": 2, "batch": 2, "seq_len": 48})"));
  fs::create_directories(cache);
  const Result r = f.run({"train", "--config", cfg, "--data", f.data, "--out", out, "--entropy-cache", cache});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--entropy-cache")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  const Result zero = f.run({"train", "--config", cfg, "--data", f.data, "--out", out, "--batch", "0"});
  EXPECT_EQ(zero.rc, 1);
  EXPECT_TRUE(contains(zero.err, "'batch'")) << zero.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(CliTrainGuards, ANonEmptyOutNeedsResumeOrForce) {
  TrainFixture f;
  const std::string out = f.out("out");
  fs::create_directories(out);
  write_raw((fs::path(out) / "notes.txt").string(), "mine");
  Result r = f.run(f.args(out, {"--steps", "4"}));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "not empty") && contains(r.err, "notes.txt") && contains(r.err, "--force"))
      << r.err;
  EXPECT_FALSE(fs::exists(fs::path(out) / "run.json"));

  // Old checkpoints but no `latest` (the case that made a new run prune its own first checkpoint).
  fs::remove(fs::path(out) / "notes.txt");
  for (const char* old : {"step_00000100", "step_00000200"})
    fs::create_directories(fs::path(out) / "checkpoints" / old);
  r = f.run(f.args(out, {"--steps", "4", "--keep", "1"}));
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "not empty")) << r.err;

  r = f.run(f.args(out, {"--steps", "4", "--keep", "1", "--force"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "--force: removed")) << r.err;
  EXPECT_EQ(checkpoint_names(out), std::vector<std::string>{"step_00000004"});
  EXPECT_EQ(latest_name(out), "step_00000004");
}

TEST(CliTrainGuards, ADivergingRunStopsAndKeepsTheLastGoodCheckpoint) {
  TrainFixture f;
  const std::string out = f.out("out");
  // When the gradient turns non-finite depends on the CPU's kernels and the precision (rounding steers a
  // diverging run): at lr 300 it was step 2 to 5 with OpenBLAS's AVX2 and AVX-512 kernels, fp32 and bf16.
  // A checkpoint every step always leaves one from before it.
  const Result r =
      f.run(f.args(out, {"--lr", "300", "--steps", "40", "--keep", "1", "--save-every", "1"}));
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "error: step ") && contains(r.err, "non-finite")) << r.err;
  EXPECT_EQ(r.err.find("the loss rose"), r.err.rfind("the loss rose")) << r.err;  // warned at most once
  const std::string latest = latest_name(out);
  ASSERT_FALSE(latest.empty()) << "no checkpoint before the divergence: " << r.err;
  EXPECT_EQ(checkpoint_names(out), std::vector<std::string>{latest});
  for (const char* file : {"model.safetensors", "optimizer.safetensors", "train_state.json"})
    EXPECT_TRUE(fs::exists(fs::path(out) / "checkpoints" / latest / file)) << file;
  EXPECT_TRUE(temporaries_under(out).empty());
  // The run stopped at the step after its last checkpoint's window: resuming the same settings fails
  // again the same way rather than training on NaN.
  const Result again = f.run({"train-entropy", "--out", out, "--resume"});
  EXPECT_EQ(again.rc, 1) << again.err;
  EXPECT_EQ(latest_name(out), latest);
}

// A loss that rises well above its minimum warns, once, and the run goes on (lr 20: the loss rises from
// step 3 on and settles, with every kernel set tried).
TEST(CliTrainGuards, ARisingLossWarnsOnce) {
  TrainFixture f;
  const Result r = f.run(f.args(f.out("out"), {"--lr", "20", "--steps", "12"}));
  EXPECT_TRUE(contains(r.err, "warning: step ") && contains(r.err, "the loss rose")) << r.err;
  EXPECT_EQ(r.err.find("the loss rose"), r.err.rfind("the loss rose")) << r.err;
}

TEST(CliTrainGuards, NanWeightsInAResumedCheckpointStopWithTheTensorNamed) {
  TrainFixture f;
  const std::string out = f.out("out");
  ASSERT_EQ(f.run(f.args(out, {"--steps", "8"})).rc, 0);
  const std::string tensor =
      poison_first_tensor((fs::path(out) / "checkpoints" / "step_00000008" / "model.safetensors").string());
  ASSERT_FALSE(tensor.empty());
  const Result r = f.run({"train-entropy", "--out", out, "--resume", "--steps", "12"});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "error: step 9: non-finite") && contains(r.err, tensor)) << r.err;
  EXPECT_EQ(latest_name(out), "step_00000008");
  EXPECT_EQ(checkpoint_names(out), (std::vector<std::string>{"step_00000004", "step_00000008"}));
}

TEST(CliTrainGuards, StaleTemporariesOfAKilledRunAreRemovedAtTheNextStart) {
  TrainFixture f;
  const std::string out = f.out("out");
  ASSERT_EQ(f.run(f.args(out, {"--steps", "4"})).rc, 0);
  const fs::path ck = fs::path(out) / "checkpoints";
  fs::create_directories(ck / ".tmp-step_00000008-99999");
  write_raw((ck / ".tmp-step_00000008-99999" / "model.safetensors").string(), "half");
  write_raw((ck / ".latest.tmp-99999-00000000deadbeef").string(), "step_");
  write_raw((fs::path(out) / ".model.safetensors.tmp-99999-0000000000000001").string(), "half");
  const Result r = f.run({"train-entropy", "--out", out, "--resume", "--steps", "8"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "removed 3 stale temporary file(s)")) << r.err;
  EXPECT_TRUE(temporaries_under(out).empty());
}

// Corruptions of the newest checkpoint step_00000012 (the previous one is step_00000008).
struct Corruption {
  const char* what;
  std::function<void(const fs::path& newest)> apply;
  const char* needle;  // in the error
};

TEST(CliTrainGuards, AnUnusableNewestCheckpointIsNamedAndFallsBackOnRequest) {
  TrainFixture f;
  const std::string straight = f.out("straight");
  ASSERT_EQ(f.run(f.args(straight)).rc, 0);
  const std::string want = read_raw((fs::path(straight) / "model.safetensors").string());
  const std::vector<Corruption> cases = {
      {"truncated weights", [](const fs::path& d) { fs::resize_file(d / "model.safetensors", 100); },
       "model.safetensors"},
      {"missing optimizer", [](const fs::path& d) { fs::remove(d / "optimizer.safetensors"); },
       "optimizer.safetensors"},
      {"bad train state",
       [](const fs::path& d) { write_raw((d / "train_state.json").string(), "{\"format\": 1}"); },
       "train_state.json"},
      {"missing directory", [](const fs::path& d) { fs::remove_all(d); }, "does not exist"},
  };
  for (const Corruption& c : cases) {
    const std::string out = f.out(std::string("cut-") + c.what);
    fs::copy(straight, out, fs::copy_options::recursive);
    c.apply(fs::path(out) / "checkpoints" / "step_00000012");
    const Result r = f.run({"train-entropy", "--out", out, "--resume"});
    EXPECT_EQ(r.rc, 1) << c.what;
    EXPECT_TRUE(contains(r.err, "step_00000012") && contains(r.err, c.needle) &&
                contains(r.err, "step_00000008") && contains(r.err, "--resume-fallback"))
        << c.what << ": " << r.err;
    const Result fb = f.run({"train-entropy", "--out", out, "--resume", "--resume-fallback"});
    ASSERT_EQ(fb.rc, 0) << c.what << ": " << fb.err;
    EXPECT_TRUE(contains(fb.err, "resuming from the previous intact checkpoint")) << fb.err;
    EXPECT_EQ(read_raw((fs::path(out) / "model.safetensors").string()), want) << c.what;
    EXPECT_EQ(logged_values(out), logged_values(straight)) << c.what;
    EXPECT_EQ(latest_name(out), "step_00000012");
  }
}

TEST(CliTrainGuards, LatestMustNameACheckpointInsideCheckpoints) {
  TrainFixture f;
  const std::string out = f.out("out");
  ASSERT_EQ(f.run(f.args(out, {"--steps", "4"})).rc, 0);
  for (const std::string& bad :
       std::vector<std::string>{"../../etc", "/tmp", "step_00000004/../../x", std::string(100, 's')}) {
    write_raw((fs::path(out) / "checkpoints" / "latest").string(), bad + "\n");
    const Result r = f.run({"train-entropy", "--out", out, "--resume", "--steps", "8"});
    EXPECT_EQ(r.rc, 1) << bad;
    EXPECT_TRUE(contains(r.err, "latest") && contains(r.err, "not a checkpoint name")) << r.err;
  }
}

}  // namespace
}  // namespace blt::test
