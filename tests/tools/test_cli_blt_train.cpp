// `blt train` (the BLT) with entropy patching end to end, with the entropy
// model of models/entropy-kjv: `blt preprocess` + `blt train --entropy-cache`
// logs exactly the losses and patch sizes of `blt train` without a cache
// (both patch with per-document entropies), the loss falls, the logged mean
// patch size is the patcher's (`blt eval` of the same document, patched on
// the fly, reports the same), and `blt generate` runs on the trained model.
// Also `blt bench core` in its smallest configuration.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/temp_dir.h"
#include "tools/train_runs.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const std::string kEntropyModel = fs::absolute("models/entropy-kjv").string();


// Documents shorter and longer than a row (48 bytes), one per JSON line.
std::string corpus_jsonl() {
  const char* docs[] = {
      "In the beginning God created the heaven and the earth.",
      "Amen.",
      "And the earth was without form, and void; and darkness was upon the face of the deep. "
      "And the Spirit of God moved upon the face of the waters.",
      "And God said, Let there be light: and there was light.",
      "Selah.",
      "And God saw the light, that it was good: and God divided the light from the darkness, "
      "and God called the light Day, and the darkness he called Night.",
  };
  std::string out;
  for (const char* d : docs) out += nlohmann::json{{"text", d}}.dump() + "\n";
  return out;
}

std::vector<nlohmann::json> metrics(const fs::path& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_raw((out / "metrics.jsonl").string()));
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  return lines;
}

class CliBltTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fs::path(kEntropyModel) / "params.json")) GTEST_SKIP() << "no entropy model at " << kEntropyModel;
    write_raw(cfg_, tiny_blt_config("entropy", R"({"batch": 2, "seq_len": 48, "lr": 0.01, "warmup": 1,
                                                "log_every": 1, "eval_every": 0, "save_every": 0})"));
    write_raw(data_, corpus_jsonl());
  }
  // blt train with entropy patching into `out`, plus `extra` arguments.
  Result train(const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"train", "--config", cfg_, "--data", data_, "--entropy-model", kEntropyModel,
                                     "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_blt(args, tmp_.path());
  }
  TempDir tmp_;
  const std::string cfg_ = tmp_.file("blt.json"), data_ = tmp_.file("corpus.jsonl");
};

TEST_F(CliBltTrain, CachedAndComputedEntropiesTrainIdentically) {
  const std::string cache = tmp_.file("cache");
  const Result p =
      run_blt({"preprocess", "--entropy-model", kEntropyModel, "--data", data_, "--out", cache}, tmp_.path());
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_TRUE(fs::exists(fs::path(cache) / "entropies.f32"));

  const std::string a = tmp_.file("cached"), b = tmp_.file("computed");
  const Result ra = train(a, {"--steps", "6", "--entropy-cache", cache});
  ASSERT_EQ(ra.rc, 0) << ra.err;
  const Result rb = train(b, {"--steps", "6"});
  ASSERT_EQ(rb.rc, 0) << rb.err;
  const auto ma = metrics(a), mb = metrics(b);
  ASSERT_EQ(ma.size(), 6u);
  ASSERT_EQ(mb.size(), 6u);
  for (size_t i = 0; i < ma.size(); ++i) {
    for (const char* k : {"loss", "grad_norm", "patches", "mean_patch_size"})
      EXPECT_EQ(ma[i].at(k), mb[i].at(k)) << "step " << i + 1 << ": " << k;
    EXPECT_TRUE(std::isfinite(ma[i].at("loss").get<double>()));
    // Entropy patches: neither every byte alone nor one patch per row.
    EXPECT_GT(ma[i].at("mean_patch_size").get<double>(), 1.2);
    EXPECT_LT(ma[i].at("mean_patch_size").get<double>(), 12.0);
  }
  EXPECT_LT(ma.back().at("loss").get<double>(), ma.front().at("loss").get<double>() - 0.1);
}

TEST_F(CliBltTrain, LoggedMeanPatchSizeIsThePatchersAndTheModelGenerates) {
  // One document, one row of exactly [BOS] + its bytes: the step's patches are the document's.
  const std::string text = "And God said, Let there be light: and there was light. Amen.";
  const std::string doc = tmp_.file("doc.txt"), out = tmp_.file("one");
  write_raw(doc, text);
  const Result r = run_blt({"train", "--config", cfg_, "--data", doc, "--entropy-model", kEntropyModel, "--out", out,
                            "--steps", "1", "--batch", "1", "--seq-len", std::to_string(text.size() + 1)},
                           tmp_.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto m = metrics(out);
  ASSERT_EQ(m.size(), 1u);
  const Result ev = run_blt({"eval", "--model", out, doc, "--json"}, tmp_.path());
  ASSERT_EQ(ev.rc, 0) << ev.err;
  const nlohmann::json e = nlohmann::json::parse(ev.out);
  EXPECT_EQ(m[0].at("mean_patch_size").get<double>(), e.at("mean_patch_size").get<double>());
  EXPECT_GT(e.at("mean_patch_size").get<double>(), 1.2);
  EXPECT_TRUE(std::isfinite(e.at("bpb").get<double>()));

  const Result g = run_blt({"generate", "--model", out, "--prompt", "And God", "--max-bytes", "8"}, tmp_.path());
  ASSERT_EQ(g.rc, 0) << g.err;
  EXPECT_EQ(g.out.rfind("And God", 0), 0u) << g.out;
}

TEST(CliBench, CoreRunsInItsSmallestConfiguration) {
  TempDir tmp;
  const Result r = run_blt({"bench", "core", "--json", "--tokens", "32", "--dim", "32", "--seq", "32", "--window", "8",
                            "--seconds", "0.01"},
                           tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* k : {"sgemm_gflops", "linear_fwd_bwd_ratio", "attn_fwd_ratio", "attn_fwd_bwd_ratio"})
    EXPECT_GT(j.at(k).get<double>(), 0) << k;
}

}  // namespace
}  // namespace blt::test
