// Entropy-patched BLT training patches with per-document entropies, whether
// they come from a `blt preprocess` cache or are computed at the start
// (pipeline::training_entropies): the computed values equal a cache written
// with preprocess's defaults and each document's own entropies; training with
// either gives bit-identical losses and patch counts; and a BltTask in entropy
// mode refuses a batch without them (it used to run the entropy model on the
// packed row, with row positions and no earlier context).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "io/temp_dir.h"
#include "pipeline/blt_task.h"
#include "pipeline/entropy_cache.h"
#include "support/tiny_models.h"
#include "train/trainer.h"

namespace blt::test {
namespace {

// Documents shorter and longer than the rows (32 bytes) and than the entropy model's chunk (64 tokens).
data::Corpus corpus() {
  data::Corpus c;
  c.add("Amen.");
  c.add("In the beginning God created the heaven.");
  c.add("And the earth was without form, and void; and darkness was upon the face of the deep.");
  c.add("And God said, Let there be light: and there was light. And God saw the light, that it was good: "
        "and God divided the light from the darkness. And God called the light Day.");
  c.add("Selah");
  return c;
}

modeldir::EntropyModel entropy_model() {
  modeldir::EntropyModel m = modeldir::EntropyModel::create(tiny_lm_args(64, 12), {}, DType::F32);
  Rng rng(11);
  m.params->initialize(rng);
  return m;
}

// The median entropy: a threshold that opens patches at about half the positions.
double median(std::vector<float> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

TEST(TrainingEntropies, ComputedEqualThePreprocessedCacheAndEachDocumentsOwn) {
  const data::Corpus c = corpus();
  const modeldir::EntropyModel m = entropy_model();
  const pipeline::EntropyCache computed = pipeline::training_entropies(c, m, "");

  // What `blt preprocess` writes with its defaults, read back as training reads it.
  TempDir dir;
  const int64_t chunk = pipeline::cache_chunk(m);
  EXPECT_EQ(chunk, 64);
  pipeline::write_entropy_cache(dir.path().string(),
                                pipeline::compute_entropy_cache(c, m, chunk, pipeline::kCacheBatch), c, chunk);
  const pipeline::EntropyCache cached = pipeline::training_entropies(c, m, dir.path().string());
  EXPECT_EQ(computed.key, cached.key);
  EXPECT_EQ(computed.values, cached.values);

  // Each document [BOS] + bytes + [EOS] in its own context, chunked as calculate_entropies.
  std::vector<float> own;
  lm::EntropyComputer ec(*m.model, {chunk, 1});
  for (size_t d = 0; d < c.size(); ++d) {
    const std::vector<float> h = ec.compute(data::encode(c.doc(d), true, true));
    own.insert(own.end(), h.begin(), h.end());
  }
  ASSERT_EQ(own.size(), computed.values.size());
  for (size_t i = 0; i < own.size(); ++i) EXPECT_NEAR(own[i], computed.values[i], 1e-5) << "token " << i;
}

struct Losses {
  std::vector<double> loss;
  std::vector<double> mean_patch_size;
};

// Trains an entropy-patched tiny BLT 4 steps over the corpus with the given side values.
Losses train_blt(const data::Corpus& c, modeldir::EntropyModel ent, std::span<const float> side, double threshold) {
  model::BltArgs a = tiny_blt_args();
  a.patching_mode = "entropy";
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Entropy;
  pa.threshold = threshold;
  modeldir::BltModel m = modeldir::BltModel::create(a, pa, DType::F32, true);
  Rng rng(3);
  m.params->initialize(rng);
  m.entropy = std::move(ent);
  pipeline::BltTask task(m, nullptr, 0);
  data::SequenceStream stream(c, 32, 7);
  stream.attach_side(side);
  train::TrainerConfig cfg;
  cfg.steps = 4;
  cfg.batch = 3;
  cfg.seq_len = 32;
  cfg.warmup = 1;
  cfg.log_every = 1;
  cfg.eval_every = cfg.save_every = 0;
  TempDir out;
  train::Trainer t(cfg, task, stream, out.path().string());
  Losses r;
  std::atomic<bool> stop{false};
  t.run(stop, [&](const train::StepReport& s) {
    r.loss.push_back(s.loss);
    r.mean_patch_size.push_back(s.stats.at("mean_patch_size").get<double>());
  });
  return r;
}

TEST(TrainingEntropies, TrainingWithAndWithoutTheCacheIsBitIdentical) {
  const data::Corpus c = corpus();
  const pipeline::EntropyCache computed = pipeline::training_entropies(c, entropy_model(), "");
  TempDir dir;
  const modeldir::EntropyModel m = entropy_model();
  pipeline::write_entropy_cache(dir.path().string(), pipeline::compute_entropy_cache(c, m, 64, 4), c, 64);
  const pipeline::EntropyCache cached = pipeline::read_entropy_cache(dir.path().string(), c, m);
  const double threshold = median(computed.values);

  const Losses a = train_blt(c, entropy_model(), computed.values, threshold);
  const Losses b = train_blt(c, entropy_model(), cached.values, threshold);
  ASSERT_EQ(a.loss.size(), 4u);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.mean_patch_size, b.mean_patch_size);
  for (double s : a.mean_patch_size) {  // the threshold really patches: neither every byte nor whole rows
    EXPECT_GT(s, 1.2);
    EXPECT_LT(s, 8.0);
  }
}

TEST(TrainingEntropies, EntropyPatchedTaskRefusesRowsWithoutDocumentEntropies) {
  model::BltArgs a = tiny_blt_args();
  a.patching_mode = "entropy";
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Entropy;
  modeldir::BltModel m = modeldir::BltModel::create(a, pa, DType::F32, true);
  m.entropy = entropy_model();
  pipeline::BltTask task(m, nullptr, 0);
  const std::vector<int32_t> rows(2 * 9, 70);
  Graph g;
  EXPECT_THROW(task.loss(g, rows, {}, 2, 8), ConfigError);
}

}  // namespace
}  // namespace blt::test
