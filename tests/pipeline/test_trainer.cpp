// Trainer: interrupted + resumed runs equal uninterrupted ones bit for bit
// (entropy model and BLT), checkpoints are complete directories, metrics
// survive resume without duplicates, and a tiny BLT overfits a short text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pipeline/entropy_task.h"
#include "io/file.h"
#include "pipeline/blt_task.h"
#include "support/config_checks.h"
#include "support/gradcheck.h"
#include "support/tiny_models.h"
#include "train/trainer.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("blt-trainer-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

data::Corpus corpus() {
  data::Corpus c;
  c.add("In the beginning God created the heaven and the earth. And the earth was without form, and void.");
  c.add("And God said, Let there be light: and there was light.");
  c.add("And God saw the light, that it was good: and God divided the light from the darkness.");
  return c;
}

train::TrainerConfig config(int64_t steps) {
  train::TrainerConfig c;
  c.steps = steps;
  c.batch = 2;
  c.seq_len = 32;
  c.adam.lr = 3e-3;
  c.warmup = 2;
  c.log_every = 1;
  c.eval_every = 0;
  c.save_every = 0;
  return c;
}

lm::LMTransformerArgs lm_args() {
  lm::LMTransformerArgs a;
  a.dim = 32;
  a.n_layers = 2;
  a.n_heads = 2;
  a.multiple_of = 16;
  a.max_seqlen = 32;
  a.sliding_window = 16;
  return a;
}

model::BltArgs blt_args() {
  model::BltArgs a = tiny_blt_args();
  a.patching_mode = "space";
  a.validate("test");
  return a;
}

// A task of either kind with its model, freshly initialised from seed 5.
struct Run {
  std::optional<modeldir::EntropyModel> lm;
  std::optional<modeldir::BltModel> blt;
  std::unique_ptr<train::TrainTask> task;
  explicit Run(bool use_blt) {
    Rng rng(5);
    if (use_blt) {
      patching::PatcherArgs pa;
      pa.patching_mode = patching::PatchingMode::Space;
      blt = modeldir::BltModel::create(blt_args(), pa, DType::F32, true);
      blt->params->initialize(rng);
      task = std::make_unique<pipeline::BltTask>(*blt, nullptr, 0);
    } else {
      lm = modeldir::EntropyModel::create(lm_args(), {}, DType::F32, true);
      lm->params->initialize(rng);
      task = std::make_unique<pipeline::EntropyTask>(*lm, nullptr, 0);
    }
  }
  std::vector<float> weights() const {
    const TensorView v = task->params().values();
    return {v.data<float>(), v.data<float>() + v.numel()};
  }
};

// Trains `steps` steps into out (stopping after `stop_at` if set, then resuming); returns losses.
std::vector<double> train(bool use_blt, const fs::path& out, int64_t steps, std::optional<int64_t> stop_at,
                          std::vector<float>* weights) {
  const data::Corpus c = corpus();
  std::vector<double> losses;
  auto report = [&](const train::StepReport& r) { losses.push_back(r.loss); };
  if (stop_at) {
    Run run(use_blt);
    data::SequenceStream stream(c, 32, 9);
    train::Trainer t(config(steps), *run.task, stream, out.string());
    std::atomic<bool> stop{false};
    t.run(stop, [&](const train::StepReport& r) {
      report(r);
      if (r.step == *stop_at) stop = true;  // as Ctrl-C would
    });
    EXPECT_EQ(t.state().step, *stop_at);
  }
  Run run(use_blt);  // a fresh process: weights from init, then the checkpoint's
  data::SequenceStream stream(c, 32, 9);
  train::Trainer t(config(steps), *run.task, stream, out.string());
  if (stop_at) {
    EXPECT_TRUE(t.resume());
  }
  std::atomic<bool> stop{false};
  t.run(stop, report);
  *weights = run.weights();
  return losses;
}

void expect_resume_is_exact(bool use_blt) {
  TempDir a, b;
  std::vector<float> wa, wb;
  const auto straight = train(use_blt, a.path, 6, std::nullopt, &wa);
  const auto resumed = train(use_blt, b.path, 6, 3, &wb);
  EXPECT_EQ(straight, resumed);
  EXPECT_EQ(wa, wb);
  // The metrics log of the resumed run has one line per step, no duplicates.
  std::ifstream in(b.path / "metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, 6);
  // Only complete checkpoint directories exist.
  for (const auto& e : fs::directory_iterator(b.path / "checkpoints"))
    if (e.is_directory()) {
      EXPECT_EQ(e.path().filename().string().rfind("step_", 0), 0u) << e.path();
    }
}

TEST(Trainer, ResumeRefusesANonIntegerStepInMetrics) {
  TempDir out;
  std::vector<float> w;
  train(false, out.path, 3, 2, &w);  // leaves a checkpoint at step 2 and a metrics log
  for (const char* bad : {R"({"step": 1e30})", R"({"step": 2.5})"}) {
    {
      std::ofstream m(out.path / "metrics.jsonl", std::ios::app);
      m << bad << "\n";
    }
    test::Run run(false);
    const data::Corpus c = corpus();
    data::SequenceStream stream(c, 32, 9);
    train::Trainer t(config(3), *run.task, stream, out.path.string());
    expect_config_error([&] { t.resume(); }, {"metrics.jsonl", "'step'"});
    // Put the log back as it was (drop the bad line) for the next case.
    std::string log = io::read_file((out.path / "metrics.jsonl").string());
    log.resize(log.size() - std::string(bad).size() - 1);
    std::ofstream(out.path / "metrics.jsonl", std::ios::trunc) << log;
  }
}

TEST(Trainer, TrainStateRefusesFloatsInIntegerFields) {
  const nlohmann::json good = train::to_json(train::TrainState{});
  EXPECT_NO_THROW(train::train_state_from_json(good, "train_state.json"));
  nlohmann::json j = good;
  j["rng"] = nlohmann::json::parse("[1.5, 2, 3, 4]");
  expect_config_error([&] { train::train_state_from_json(j, "train_state.json"); }, {"train_state.json", "'rng'"});
  j = good;
  j["step"] = 1e30;
  expect_config_error([&] { train::train_state_from_json(j, "train_state.json"); }, {"'step'"});
}

TEST(Trainer, EntropyModelResumeIsBitExact) { expect_resume_is_exact(false); }
TEST(Trainer, BltResumeIsBitExact) { expect_resume_is_exact(true); }

TEST(Trainer, TinyBltOverfitsAShortText) {
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Space;
  modeldir::BltModel m = modeldir::BltModel::create(blt_args(), pa, DType::F32, true);
  Rng rng(1);
  m.params->initialize(rng);
  pipeline::BltTask task(m, nullptr, 0);
  data::Corpus c;
  c.add("the quick brown fox jumps over the lazy dog");
  data::SequenceStream stream(c, 44, 3);  // one row = one whole document
  train::TrainerConfig cfg = config(200);
  cfg.seq_len = 44;
  cfg.batch = 1;
  cfg.adam.lr = 1e-2;
  cfg.adam.weight_decay = 0;
  cfg.warmup = 10;
  cfg.log_every = 50;
  TempDir out;
  train::Trainer t(cfg, task, stream, out.path.string());
  std::vector<double> losses;
  std::atomic<bool> stop{false};
  t.run(stop, [&](const train::StepReport& r) { losses.push_back(r.loss); });
  EXPECT_GT(losses.front(), 4.0);
  EXPECT_LT(losses.back(), 0.1) << "nats per byte after 200 steps";
}

}  // namespace
}  // namespace blt::test
