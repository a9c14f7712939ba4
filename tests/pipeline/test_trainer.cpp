// Trainer: interrupted + resumed runs equal uninterrupted ones bit for bit
// (entropy model and BLT, the metrics lines too when --log-every does not
// divide the stop step), checkpoints are complete directories, pruning never
// removes the newest checkpoint, the loss watch warns once on a rise, and a
// tiny BLT overfits a short text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pipeline/entropy_task.h"
#include "io/file.h"
#include "io/safetensors.h"
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

// Trains cfg.steps steps into out (stopping after `stop_at` if set, then resuming); returns losses.
std::vector<double> train(bool use_blt, const fs::path& out, const train::TrainerConfig& cfg,
                          std::optional<int64_t> stop_at, std::vector<float>* weights) {
  const data::Corpus c = corpus();
  std::vector<double> losses;
  auto report = [&](const train::StepReport& r) { losses.push_back(r.loss); };
  if (stop_at) {
    Run run(use_blt);
    data::SequenceStream stream(c, 32, 9);
    train::Trainer t(cfg, *run.task, stream, out.string());
    std::atomic<bool> stop{false};
    t.run(stop, [&](const train::StepReport& r) {
      report(r);
      if (r.step == *stop_at) stop = true;  // as Ctrl-C would
    });
    EXPECT_EQ(t.state().step, *stop_at);
  }
  Run run(use_blt);  // a fresh process: weights from init, then the checkpoint's
  data::SequenceStream stream(c, 32, 9);
  train::Trainer t(cfg, *run.task, stream, out.string());
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
  const auto straight = train(use_blt, a.path, config(6), std::nullopt, &wa);
  const auto resumed = train(use_blt, b.path, config(6), 3, &wb);
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
  train(false, out.path, config(3), 2, &w);  // leaves a checkpoint at step 2 and a metrics log
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

// The "loss", "bpb" and "flops_per_byte" of every metrics line of out.
std::vector<double> logged(const fs::path& out) {
  std::ifstream in(out / "metrics.jsonl");
  std::vector<double> v;
  for (std::string l; std::getline(in, l);) {
    const auto j = nlohmann::json::parse(l);
    for (const char* k : {"loss", "bpb", "flops_per_byte"}) v.push_back(j.at(k).get<double>());
  }
  return v;
}

TEST(Trainer, ResumeLogsTheLinesOfAnUninterruptedRun) {
  // Stopped at step 4 with a line every 3 steps: the line of step 6 averages steps 5-6 and the
  // checkpointed step 4 (its window).
  train::TrainerConfig cfg = config(10);
  cfg.log_every = 3;
  TempDir a, b;
  std::vector<float> wa, wb;
  train(false, a.path, cfg, std::nullopt, &wa);
  train(false, b.path, cfg, 4, &wb);
  EXPECT_EQ(logged(a.path).size(), 4u * 3u);
  EXPECT_EQ(logged(a.path), logged(b.path));
}

TEST(Trainer, ResumedBltLogsThePatchStatisticsOfAnUninterruptedRun) {
  // The task's window (patch counts since the last line) is checkpointed with the trainer's.
  train::TrainerConfig cfg = config(10);
  cfg.log_every = 3;
  TempDir a, b;
  std::vector<float> wa, wb;
  train(true, a.path, cfg, std::nullopt, &wa);
  train(true, b.path, cfg, 4, &wb);
  auto patch_stats = [](const fs::path& out) {
    std::ifstream in(out / "metrics.jsonl");
    std::vector<nlohmann::json> v;
    for (std::string l; std::getline(in, l);) {
      const auto j = nlohmann::json::parse(l);
      v.push_back({j.at("patches"), j.at("mean_patch_size"), j.at("analytic_flops_per_byte")});
    }
    return v;
  };
  EXPECT_EQ(patch_stats(a.path).size(), 4u);
  EXPECT_EQ(patch_stats(a.path), patch_stats(b.path));
  EXPECT_EQ(logged(a.path), logged(b.path));
}

TEST(Trainer, TrainStateKeepsTheLogWindowAndReadsOldFilesAsEmpty) {
  train::TrainState s;
  s.window = {1.0 / 3.0, 12345.678, 2};
  const train::TrainState back = train::train_state_from_json(train::to_json(s), "train_state.json");
  EXPECT_EQ(back.window.loss, s.window.loss);
  EXPECT_EQ(back.window.flops, s.window.flops);
  EXPECT_EQ(back.window.steps, 2);
  nlohmann::json old = train::to_json(s);
  old.erase("log_window");
  EXPECT_EQ(train::train_state_from_json(old, "train_state.json").window.steps, 0);
}

TEST(Trainer, PruningNeverRemovesTheCheckpointJustWritten) {
  // A newer step_* of an abandoned run and an older one: keep 1 removes only the older.
  TempDir out;
  for (const char* d : {"step_00000001", "step_00000099"}) fs::create_directories(out.path / "checkpoints" / d);
  train::TrainerConfig cfg = config(2);
  cfg.keep = 1;
  std::vector<float> w;
  train(false, out.path, cfg, std::nullopt, &w);
  EXPECT_TRUE(fs::is_directory(out.path / "checkpoints" / "step_00000002"));
  EXPECT_FALSE(fs::exists(out.path / "checkpoints" / "step_00000001"));
  EXPECT_TRUE(fs::exists(out.path / "checkpoints" / "step_00000099"));
  EXPECT_EQ(io::read_file((out.path / "checkpoints" / "latest").string()), "step_00000002\n");
}

TEST(Trainer, LossWatchWarnsOnceOnARiseFarAboveTheMinimum) {
  train::LossWatch watch;
  int64_t step = 0;
  std::vector<int64_t> warned;
  for (double loss : {5.5, 5.0, 4.0, 3.0, 3.2, 3.1, 2.9, 3.4, 3.0,  // noise: no warning
                      6.5, 7.0, 7.2,                                // mean of the last 3 > 2 x 2.9 and > 3.9
                      8.0, 9.0, 2.0, 9.0})                           // once only
    if (watch.observe(++step, loss)) warned.push_back(step);
  EXPECT_EQ(warned, std::vector<int64_t>{12});
  // Small losses: twice the minimum is not enough without a rise of a nat.
  train::LossWatch small;
  for (double loss : {0.2, 0.1, 0.5, 0.6, 0.7}) EXPECT_FALSE(small.observe(++step, loss));
}

TEST(Trainer, ABadAdamwStepCountIsAFormatErrorNamingIt) {
  TempDir out;
  std::vector<float> w;
  train(false, out.path, config(2), std::nullopt, &w);
  const fs::path dir = out.path / "checkpoints" / "step_00000002";
  test::Run run(false);
  train::AdamW opt(run.task->params(), {});
  for (const char* bad : {"x", "-3", "1e30", "99999999999999999999"}) {
    io::write_safetensors((dir / "optimizer.safetensors").string(), {{"adamw.m", opt.m().view()}, {"adamw.v", opt.v().view()}},
                          {{"adamw_steps", bad}});
    expect_error<FormatError>([&] { train::load_checkpoint(dir.string(), run.task->params(), opt); },
                              {"optimizer.safetensors", "'adamw_steps'"});
  }
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
