// Ctrl-C during `blt train-entropy`: the process stops after the current
// step with exit code 130, a complete checkpoint and a resume hint; `--resume`
// then finishes the run, and the final weights equal those of a run that was
// never interrupted, byte for byte. Ctrl-C during `blt preprocess` stops it
// with exit code 130 and removes its temporary files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const char* kConfig = R"({
  "entropy_model": {"dim": 16, "n_layers": 1, "n_heads": 2, "max_seqlen": 32, "sliding_window": 32,
                    "attn_bias_type": "local_block_causal", "multiple_of": 16, "vocab_size": 260},
  "train": {"steps": 2000, "batch": 2, "seq_len": 32, "lr": 0.003, "warmup": 5, "log_every": 1,
            "eval_every": 0, "save_every": 0}
})";

TEST(CliInterrupt, CtrlCCheckpointsAndResumeMatchesAnUninterruptedRun) {
  TempDir tmp;
  const std::string cfg = tmp.file("tiny.json"), data = tmp.file("d.txt");
  write_raw(cfg, kConfig);
  std::string text;
  for (int i = 0; i < 400; ++i) text += "and the earth was without form, and void; ";
  write_raw(data, text);
  const fs::path scratch = tmp.path();

  const std::string straight = tmp.file("straight"), cut = tmp.file("cut");
  const Result a = run_blt({"train-entropy", "--config", cfg, "--data", data, "--out", straight}, scratch);
  ASSERT_EQ(a.rc, 0) << a.err;

  // Interrupt once a few steps are logged.
  const fs::path metrics = fs::path(cut) / "metrics.jsonl";
  const Result b = run_blt_interrupting({"train-entropy", "--config", cfg, "--data", data, "--out", cut}, scratch, [&] {
    std::ifstream in(metrics);
    int lines = 0;
    for (std::string l; std::getline(in, l);) ++lines;
    return lines >= 5;
  });
  ASSERT_EQ(b.rc, 130) << "stderr: " << b.err;
  EXPECT_TRUE(contains(b.err, "checkpoint saved")) << b.err;
  EXPECT_TRUE(contains(b.err, "--resume")) << b.err;
  ASSERT_TRUE(fs::exists(fs::path(cut) / "checkpoints" / "latest"));

  const Result c = run_blt({"train-entropy", "--out", cut, "--resume"}, scratch);
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_EQ(read_raw((fs::path(straight) / "model.safetensors").string()),
            read_raw((fs::path(cut) / "model.safetensors").string()))
      << "resumed weights differ from the uninterrupted run's";
}

TEST(CliInterrupt, CtrlCDuringPreprocessLeavesNeitherCacheNorTemporaryFiles) {
  TempDir tmp;
  const std::string data = tmp.file("d.txt");
  write_raw(data,
            std::string(1 << 20, 'a'));  // a minute of entropies at least: Ctrl-C comes long before the end
  const fs::path out = tmp.path() / "cache";
  auto writing = [&] {  // the entropies' temporary file exists: the computation is under way
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec))
      if (contains(e.path().filename().string(), ".tmp-")) return true;
    return false;
  };
  const Result r =
      run_blt_interrupting({"preprocess", "--entropy-model", "tests/golden/official_layout/entropy_model",
                            "--data", data, "--out", out.string()},
                           tmp.path(), writing);
  ASSERT_EQ(r.rc, 130) << "stderr: " << r.err;
  EXPECT_TRUE(contains(r.err, "interrupted: " + out.string() + " not written")) << r.err;
  EXPECT_TRUE(fs::is_empty(out));
}

}  // namespace
}  // namespace blt::test
