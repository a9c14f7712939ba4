// Data-parallel training under mpirun (Open MPI, oversubscribed on this
// machine, one thread per rank): N ranks with --batch B train exactly what
// one process with --batch B --grad-accum N trains (every logged loss and the
// final weights bit for bit, and validation split among the ranks), for a
// byte LM and for a BLT with entropy patching; a checkpoint written under
// one rank count resumes under another; SIGUSR1 stops the job at one step;
// ranks that disagree (seeds, binaries, an --out they do not share, a global
// batch the rank count does not divide) are refused at the start; `blt
// experiment` meets its budget under two ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/temp_dir.h"
#include "tools/run_blt.h"
#include "tools/train_runs.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const std::string kEntropyModel = fs::absolute("models/entropy-kjv").string();

// `mpirun -np n blt args...`, one thread per rank.
std::vector<std::string> mpirun(int n, const std::vector<std::string>& args) {
  std::vector<std::string> a = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", std::to_string(n),
                                "-x",     "OMP_NUM_THREADS=1",   BLT_BINARY};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

// One job of two ranks running different command lines (MPMD): rank 0 `blt first...`, rank 1 `program
// second...`.
std::vector<std::string> two_programs(const std::vector<std::string>& first, const std::string& program,
                                      const std::vector<std::string>& second) {
  std::vector<std::string> a = mpirun(1, first);
  a.insert(a.end(), {":", "-np", "1", "-x", "OMP_NUM_THREADS=1", program});
  a.insert(a.end(), second.begin(), second.end());
  return a;
}

// Every metrics line without the fields that measure time or the rank split.
std::vector<nlohmann::json> losses(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_raw((fs::path(out) / "metrics.jsonl").string()));
  for (std::string l; std::getline(in, l);) {
    nlohmann::json j = nlohmann::json::parse(l);
    for (const char* k : {"bytes_per_s", "seconds", "comm_share"}) j.erase(k);
    lines.push_back(j);
  }
  return lines;
}

// Rewinds a finished run to its checkpoint of `step` (as if it had stopped there).
void rewind_to(const std::string& out, int step) {
  const std::vector<std::string> names = checkpoint_names(out);
  const auto it = std::find_if(names.begin(), names.end(),
                               [&](const std::string& n) { return std::stoi(n.substr(5)) == step; });
  ASSERT_NE(it, names.end()) << "no checkpoint of step " << step << " in " << out;
  for (const std::string& n : names)
    if (n != *it) fs::remove_all(fs::path(out) / "checkpoints" / n);
  write_raw((fs::path(out) / "checkpoints" / "latest").string(), *it + "\n");
}

class CliMpi : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef BLT_WITH_MPI
    GTEST_SKIP() << "built without MPI (-DBLT_MPI=OFF)";
#endif
    if (run_program({"mpirun", "--version"}, f_.tmp.path()).rc != 0) GTEST_SKIP() << "no mpirun in PATH";
  }
  // `blt train-entropy` on the tiny byte LM for `steps` steps, metrics every step, checkpoints every 10.
  std::vector<std::string> lm(const std::string& out, const std::vector<std::string>& extra,
                              int steps = 20) const {
    std::vector<std::string> a = f_.args(
        out, {"--steps", std::to_string(steps), "--log-every", "1", "--save-every", "10", "--threads", "1"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  Result run(const std::vector<std::string>& argv) const {
    return run_program(argv, f_.tmp.path());
  }

  TrainFixture f_;
};

TEST_F(CliMpi, TwoRanksTrainTheByteLmOfOneProcessWithGradAccum) {
  const std::string one = f_.out("one"), two = f_.out("two");
  // Validation every 10 steps: the ranks split its windows and add them up in window order.
  const std::vector<std::string> valid = {"--valid", f_.data, "--valid-bytes", "3000", "--eval-every", "10"};
  std::vector<std::string> single = {"--batch", "4", "--grad-accum", "2"}, ranks = {"--batch", "4"};
  single.insert(single.end(), valid.begin(), valid.end());
  ranks.insert(ranks.end(), valid.begin(), valid.end());
  const Result a = f_.run(lm(one, single));
  ASSERT_EQ(a.rc, 0) << a.err;
  const Result b = run(mpirun(2, lm(two, ranks)));
  ASSERT_EQ(b.rc, 0) << b.err;
  ASSERT_EQ(losses(one).size(), 20u);
  EXPECT_TRUE(losses(one)[9].contains("valid_bpb"));
  EXPECT_EQ(losses(one), losses(two));
  EXPECT_EQ(read_raw(one + "/model.safetensors"), read_raw(two + "/model.safetensors"));
  // Only rank 0 prints progress and writes.
  EXPECT_EQ(b.err.find("trained 20 steps"), b.err.rfind("trained 20 steps")) << b.err;
}

TEST_F(CliMpi, ThreeRanksTrainTheByteLmOfOneProcessWithGradAccum) {
  const std::string one = f_.out("one"), three = f_.out("three");
  ASSERT_EQ(f_.run(lm(one, {"--batch", "2", "--grad-accum", "3"})).rc, 0);
  const Result b = run(mpirun(3, lm(three, {"--batch", "2"})));
  ASSERT_EQ(b.rc, 0) << b.err;
  // The issue asks for 1e-6 relative; the ordered sum makes it exact.
  EXPECT_EQ(losses(one), losses(three));
  EXPECT_EQ(read_raw(one + "/model.safetensors"), read_raw(three + "/model.safetensors"));
}

TEST_F(CliMpi, TwoRanksTrainTheEntropyPatchedBltOfOneProcess) {
  if (!fs::exists(fs::path(kEntropyModel) / "params.json"))
    GTEST_SKIP() << "no entropy model at " << kEntropyModel;
  const std::string cfg = f_.out("blt.json");
  write_raw(cfg, tiny_blt_config("entropy", R"({"steps": 20, "seq_len": 48, "lr": 0.01, "warmup": 1,
                                               "log_every": 1, "eval_every": 0, "save_every": 0})"));
  auto blt = [&](const std::string& out, const std::vector<std::string>& extra) {
    std::vector<std::string> a = {
        "train", "--config",        cfg,           "--data",       f_.data, "--out",
        out,     "--entropy-model", kEntropyModel, "--threads",    "1",     "--valid",
        f_.data, "--valid-bytes",   "600",         "--eval-every", "10"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::string one = f_.out("one"), two = f_.out("two");
  const Result a = f_.run(blt(one, {"--batch", "4", "--grad-accum", "2"}));
  ASSERT_EQ(a.rc, 0) << a.err;
  const Result b = run(mpirun(2, blt(two, {"--batch", "4"})));
  ASSERT_EQ(b.rc, 0) << b.err;
  const auto la = losses(one), lb = losses(two);
  ASSERT_EQ(la.size(), 20u);
  EXPECT_EQ(la, lb);  // losses and the merged patch statistics
  EXPECT_GT(la.back().at("patches").get<int64_t>(), 0);
  EXPECT_TRUE(la.back().contains("valid_bpb"));
  EXPECT_EQ(read_raw(one + "/model.safetensors"), read_raw(two + "/model.safetensors"));
}

TEST_F(CliMpi, ACheckpointResumesUnderAnotherRankCount) {
  const std::string ref = f_.out("ref"), split = f_.out("split"), joined = f_.out("joined");
  ASSERT_EQ(f_.run(lm(ref, {"--batch", "4", "--grad-accum", "2"})).rc, 0);
  // Written by one process, resumed by two.
  ASSERT_EQ(f_.run(lm(split, {"--batch", "4", "--grad-accum", "2"})).rc, 0);
  rewind_to(split, 10);
  const Result a = run(mpirun(2, {"train-entropy", "--out", split, "--resume", "--threads", "1"}));
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(losses(ref), losses(split));
  EXPECT_EQ(read_raw(ref + "/model.safetensors"), read_raw(split + "/model.safetensors"));
  // Written by two ranks, resumed by one process.
  ASSERT_EQ(run(mpirun(2, lm(joined, {"--batch", "4"}))).rc, 0);
  rewind_to(joined, 10);
  const Result b = f_.run({"train-entropy", "--out", joined, "--resume", "--threads", "1"});
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(losses(ref), losses(joined));
  EXPECT_EQ(read_raw(ref + "/model.safetensors"), read_raw(joined + "/model.safetensors"));
  // Three ranks cannot split its two micro-batches per step.
  rewind_to(joined, 10);
  const Result c = run(mpirun(3, {"train-entropy", "--out", joined, "--resume", "--threads", "1"}));
  EXPECT_NE(c.rc, 0);
  EXPECT_TRUE(contains(c.err, "3 ranks do not divide it")) << c.err;
}

TEST_F(CliMpi, SigusrToMpirunCheckpointsOnceAndTheJobResumesTheSameCurve) {
  const std::string ref = f_.out("ref"), cut = f_.out("cut");
  ASSERT_EQ(f_.run(lm(ref, {"--batch", "4", "--grad-accum", "2"}, 60)).rc, 0);
  // mpirun forwards SIGUSR1 to every rank: they stop at the same step, rank 0 checkpoints, all exit 130.
  const Result a = run_program_interrupting(
      mpirun(2, lm(cut, {"--batch", "4"}, 60)), f_.tmp.path(),
      [&] { return logged_values(cut).size() >= 3 * 3; }, SIGUSR1);
  EXPECT_NE(a.rc, 0) << a.err;
  EXPECT_TRUE(contains(a.err, "checkpoint saved")) << a.err;
  EXPECT_EQ(a.err.find("interrupt:"), a.err.rfind("interrupt:")) << "rank 0 alone says it\n" << a.err;
  const Result b = run(mpirun(2, {"train-entropy", "--out", cut, "--resume", "--threads", "1"}));
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(losses(ref), losses(cut));
  EXPECT_EQ(read_raw(ref + "/model.safetensors"), read_raw(cut + "/model.safetensors"));
}

// A micro experiment (entropy model, a static-patch BLT, the byte baseline) under two ranks: every arm
// lands on the budget with the job's FLOPs (a step is 2 × --batch rows), rank 0 alone writes and prints,
// and a second run trains nothing.
TEST_F(CliMpi, ExperimentArmsMeetTheBudgetUnderTwoRanks) {
  const std::string train = f_.out("train.txt"), valid = f_.out("valid.txt"), out = f_.out("exp");
  write_raw(train, read_raw("data/sample/train.txt").substr(0, 16000));
  write_raw(valid, read_raw("data/sample/valid.txt").substr(0, 2000));
  const std::vector<std::string> args = {"experiment", "--data", train, "--valid", valid, "--budget", "5e9",
                                         "--arms", "blt-static-4,byte", "--width", "64", "--seq-len", "64",
                                         "--batch", "2", "--entropy-steps", "10", "--evals", "2", "--out", out,
                                         "--threads", "1"};
  const Result r = run(mpirun(2, args));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("| byte |"), r.out.rfind("| byte |")) << "one table, from rank 0\n" << r.out;
  std::istringstream in(read_raw(out + "/results.jsonl"));
  int arms = 0;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.at("arm") == "entropy-model") continue;
    ++arms;
    EXPECT_NEAR(j.at("train_flops").get<double>() / 5e9, 1.0, 0.05) << line;
    EXPECT_TRUE(std::isfinite(j.at("valid_bpb").get<double>())) << line;
  }
  EXPECT_EQ(arms, 2);
  const Result again = run(mpirun(2, args));
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_FALSE(contains(again.err, "step 1/")) << "finished arms are not retrained\n" << again.err;
}

TEST_F(CliMpi, RanksThatDisagreeAreRefusedAtTheStart) {
  // Different seeds: different initial parameters.
  const Result a = run(
      two_programs(lm(f_.out("seeds"), {"--seed", "1"}), BLT_BINARY, lm(f_.out("seeds"), {"--seed", "2"})));
  EXPECT_NE(a.rc, 0);
  EXPECT_TRUE(contains(a.err, "rank(s) 1 hold different initial parameters")) << a.err;
  EXPECT_FALSE(fs::exists(f_.out("seeds") + "/checkpoints"));

  // An --out that rank 1 does not see (here: another folder).
  const Result b = run(two_programs(lm(f_.out("out0"), {}), BLT_BINARY, lm(f_.out("out1"), {})));
  EXPECT_NE(b.rc, 0);
  EXPECT_TRUE(contains(b.err, "cannot see --out")) << b.err;
  EXPECT_FALSE(fs::exists(f_.out("out0"))) << "the folder rank 0 created for the check is removed again";

  // Another build of blt on rank 1 (the same binary with one byte appended).
  const std::string copy = f_.out("blt-copy");
  write_raw(copy, read_raw(BLT_BINARY) + std::string(1, '\0'));
  fs::permissions(copy, fs::perms::owner_all);
  const Result c = run(two_programs(lm(f_.out("bins"), {}), copy, lm(f_.out("bins"), {})));
  EXPECT_NE(c.rc, 0);
  EXPECT_TRUE(contains(c.err, "run a different blt binary")) << c.err;
}

}  // namespace
}  // namespace blt::test
