// One arm's model, task, stream, step count and training run (arm_run.h).
#include "experiment/arm_run.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "data/tokenizer.h"
#include "dist/communicator.h"
#include "eval/flops.h"
#include "eval/lm_bpb.h"
#include "io/file.h"
#include "modeldir/memory_plan.h"
#include "patching/row_patcher.h"
#include "pipeline/blt_task.h"
#include "pipeline/entropy_task.h"

namespace blt::experiment {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMinSteps = kMinArmSteps;
constexpr int64_t kProbeBatches = 8;  // batches run forward to measure a step's FLOPs

// An arm's model (an LM or a BLT), its task and its stream; built in place and never moved.
struct Built {
  std::optional<modeldir::EntropyModel> lm;
  std::optional<modeldir::BltModel> blt;
  std::unique_ptr<train::TrainTask> task;
  std::unique_ptr<data::SequenceStream> stream;
  int64_t seq_len = 0;
};

std::unique_ptr<Built> build_lm(const lm::LMTransformerArgs& args, const ArmData& d, bool tokens) {
  auto b = std::make_unique<Built>();
  b->seq_len = args.max_seqlen;
  b->lm = modeldir::EntropyModel::create(args, patching::PatcherArgs{}, DType::F32, true);
  Rng init(d.seed);
  b->lm->params->initialize(init);
  if (d.precision == Precision::BF16) b->lm->params->enable_bf16_mirror();
  if (tokens) {
    b->task = std::make_unique<pipeline::TokenLmTask>(*b->lm, d.valid_tokens);
    b->stream = std::make_unique<data::SequenceStream>(*d.train_tokens, b->seq_len, d.seed);
  } else {
    b->task = std::make_unique<pipeline::EntropyTask>(*b->lm, d.valid, 0);
    b->stream = std::make_unique<data::SequenceStream>(*d.train, b->seq_len, d.seed);
  }
  return b;
}

std::unique_ptr<Built> build(const Arm& arm, const ArmData& d) {
  if (arm.kind == ArmKind::Bpe) return build_lm(lm_args(d.width, d.bpe_vocab, arm_seq_len(arm, d)), d, true);
  if (arm.kind == ArmKind::Byte) return build_lm(lm_args(d.width, data::kVocabSize, d.seq_len), d, false);
  auto b = std::make_unique<Built>();
  b->seq_len = d.seq_len;
  b->blt =
      modeldir::BltModel::create(blt_args(d.width, arm.patcher, d.seq_len), arm.patcher, DType::F32, true);
  Rng init(d.seed);
  b->blt->params->initialize(init);
  if (d.precision == Precision::BF16) b->blt->params->enable_bf16_mirror();  // the entropy model stays fp32
  b->stream = std::make_unique<data::SequenceStream>(*d.train, d.seq_len, d.seed);
  if (arm.entropy_patched()) {
    b->blt->entropy = modeldir::EntropyModel::load(d.entropy_dir);
    b->stream->attach_side(d.entropies);
  }
  b->task = std::make_unique<pipeline::BltTask>(*b->blt, d.valid, 0);
  return b;
}

// Executed training FLOPs of one step: 3 × the forward of the stream's first batches, averaged; the
// stream is rewound and the task's statistics (its mean patch, returned in `stats`) taken.
double probe_step_flops(Built& b, int64_t batch, nlohmann::json& stats) {
  Graph g;
  g.set_recording(false);
  std::vector<int32_t> rows;
  std::vector<float> side;
  double forward = 0;
  for (int64_t i = 0; i < kProbeBatches; ++i) {
    b.stream->next_batch(batch, rows, b.stream->has_side() ? &side : nullptr);
    g.reset();
    b.task->loss(g, rows, side, batch, b.seq_len);
    forward += g.flops().total_forward();
    g.flops().clear();
  }
  stats = b.task->step_stats();
  b.stream->seek(data::DataPosition{});
  return 3 * forward / kProbeBatches;
}

// A run's metrics.jsonl: its validation points, and (BLT) Σ over the lines of the analytic training FLOPs
// per byte at that window's mean patch × the window's bytes.
struct Metrics {
  std::vector<CurvePoint> curve;
  double analytic_flops = 0;
};
Metrics read_metrics(const std::string& dir) {
  Metrics m;
  std::istringstream in(io::read_file((fs::path(dir) / "metrics.jsonl").string()));
  std::string line;
  double tokens_before = 0;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    const double tokens = j.value("tokens_seen", 0.0);
    m.analytic_flops += j.value("analytic_flops_per_byte", 0.0) * (tokens - tokens_before);
    tokens_before = tokens;
    if (j.contains("valid_bpb") && j["valid_bpb"].is_number())
      m.curve.push_back({j.value("step", int64_t{0}), j.value("flops", 0.0), j["valid_bpb"].get<double>()});
  }
  return m;
}

// The BLT's analytic training FLOPs of the stream's batches, one at a time (patched, no forward). A batch
// runs the global model over its longest row's patches in every row (shorter rows are padded), so its
// patch size is bytes / (B × the longest row's patches).
class BatchCoster {
 public:
  BatchCoster(Built& b, int64_t batch)
      : b_(b),
        batch_(batch),
        patcher_(b.blt->patcher, b.blt->entropy_lm(), b.blt->args.eos_id),
        x_(static_cast<size_t>(batch * b.seq_len)),
        h_(b.stream->has_side() ? x_.size() : 0) {}
  double next() {
    const int64_t L = b_.seq_len;
    b_.stream->next_batch(batch_, rows_, b_.stream->has_side() ? &side_ : nullptr);
    for (int64_t r = 0; r < batch_; ++r)
      for (int64_t t = 0; t < L; ++t) {
        x_[static_cast<size_t>(r * L + t)] = rows_[static_cast<size_t>(r * (L + 1) + t)];
        if (!h_.empty()) h_[static_cast<size_t>(r * L + t)] = side_[static_cast<size_t>(r * (L + 1) + t)];
      }
    patcher_.layout(x_, batch_, L, layout_, h_);
    const double patch = static_cast<double>(batch_ * (L + 1)) / static_cast<double>(layout_.lengths.size());
    return 3 * static_cast<double>(batch_ * L) * eval::blt_flops(b_.blt->args, patch, L).total();
  }

 private:
  Built& b_;
  int64_t batch_;
  patching::RowPatcher patcher_;
  patching::PatchLayout layout_;
  std::vector<int32_t> rows_, x_;
  std::vector<float> side_, h_;
};

// The BLT's steps: every batch the run will read costed analytically (BatchCoster), scaled by executed /
// analytic over the probe's batches (a step: `ranks` batches); the number of steps whose sum comes
// closest to the budget.
int64_t blt_steps(Built& b, int64_t batch, int ranks, double budget, double probe_step_flops) {
  BatchCoster cost(b, batch);
  double analytic = 0;
  for (int64_t i = 0; i < kProbeBatches; ++i) analytic += cost.next();
  const double ratio = probe_step_flops * kProbeBatches / analytic;
  b.stream->seek(data::DataPosition{});
  double spent = 0;
  int64_t steps = 0;
  for (; steps < (int64_t{1} << 24); ++steps) {
    double step = 0;
    for (int r = 0; r < ranks; ++r) step += ratio * cost.next();  // the step's micro-batches, in stream order
    if (budget - spent < step / 2) break;
    spent += step;
  }
  b.stream->seek(data::DataPosition{});
  return steps;
}

// Runs (or resumes) the trainer in dir to cfg.steps; the result's run fields, or nullopt when stopped.
std::optional<ArmResult> run(const std::string& name, Built& b, const train::TrainerConfig& cfg,
                             const std::string& dir, const std::atomic<bool>& stop,
                             const StepProgress& progress) {
  dist::Communicator& comm = dist::Communicator::world();
  if (comm.rank() == 0) {  // rank 0 alone writes (data parallelism: every rank runs this)
    fs::create_directories(dir);
    train::remove_stale_temporaries(dir);
  }
  comm.barrier();
  train::Trainer trainer(cfg, *b.task, *b.stream, dir, comm);
  const bool resumed = trainer.resume();
  comm.barrier();  // every rank has read the checkpoint
  if (!resumed && comm.rank() == 0)
    fs::remove(fs::path(dir) / "metrics.jsonl");  // a run killed before its first checkpoint
  const int64_t reached = trainer.run(
      stop, [&](const train::StepReport& r) { progress(name, r.step, r.total, trainer.state().flops); });
  if (reached < cfg.steps) return std::nullopt;
  ArmResult r;
  r.arm = name;
  r.params = b.task->params().numel();
  r.steps = reached;
  r.train_flops = trainer.state().flops;
  r.wall_s = trainer.state().seconds;
  const Metrics metrics = read_metrics(dir);
  r.curve = metrics.curve;
  r.analytic_train_flops = metrics.analytic_flops;
  if (r.curve.empty() || r.curve.back().step != reached)  // resumed after its last step: validate once more
    r.curve.push_back({reached, r.train_flops, b.task->validate().value_or(std::nan(""))});
  r.valid_bpb = r.curve.back().valid_bpb;
  r.extra["tokens_trained"] = trainer.state().tokens_seen;
  return r;
}

train::TrainerConfig trainer_config(const ArmData& d, int64_t steps, int64_t seq_len) {
  train::TrainerConfig c;
  c.steps = steps;
  c.batch = d.batch;
  c.seq_len = seq_len;
  c.adam.lr = d.lr;
  c.adam.weight_decay = 0.01;
  c.warmup = std::max<int64_t>(1, steps / 10);
  c.eval_every = c.save_every = c.log_every = std::max<int64_t>(1, steps / std::max<int64_t>(1, d.evals));
  c.keep = 1;
  c.seed = d.seed;
  return c;
}

}  // namespace

std::string format_flops(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", f);
  return buf;
}

int64_t arm_seq_len(const Arm& arm, const ArmData& d) {
  if (arm.kind != ArmKind::Bpe) return d.seq_len;
  return std::max<int64_t>(8, std::llround(static_cast<double>(d.seq_len) / d.bytes_per_token));
}

double nominal_step_flops(const Arm& arm, const ArmData& d) {
  const int64_t L = arm_seq_len(arm, d);
  const double rows = static_cast<double>(d.batch * L);
  if (arm.kind == ArmKind::Bpe)
    return 3 * rows * eval::lm_flops_per_token(lm_args(d.width, d.bpe_vocab, L), L);
  if (arm.kind == ArmKind::Byte)
    return 3 * rows * eval::lm_flops_per_token(lm_args(d.width, data::kVocabSize, L), L);
  using patching::PatchingMode;
  const double patch = arm.patcher.patching_mode == PatchingMode::Static  ? arm.patcher.patch_size
                       : arm.patcher.patching_mode == PatchingMode::Space ? 4.5
                       : arm.calibrate_to_bpe                             ? d.bytes_per_token
                                                                          : arm.target_patch;
  return 3 * rows * eval::blt_flops(blt_args(d.width, arm.patcher, L), patch, L).total();
}

void check_arm_memory(const Arm& arm, const ArmData& d) {
  const int64_t L = arm_seq_len(arm, d);
  const modeldir::Workload step{true, d.batch, L};
  const std::string where = "arm " + arm.name + " (--width " + std::to_string(d.width) + ", --batch " +
                            std::to_string(d.batch) + ", --seq-len " + std::to_string(d.seq_len) + ")";
  if (arm.kind == ArmKind::Blt)
    modeldir::check_memory(modeldir::plan_memory(blt_args(d.width, arm.patcher, L), DType::F32, step), where);
  else
    modeldir::check_memory(
        modeldir::plan_memory(lm_args(d.width, arm.kind == ArmKind::Bpe ? d.bpe_vocab : data::kVocabSize, L),
                              DType::F32, step),
        where);
}

std::optional<ArmResult> train_arm(const Arm& arm, const ArmData& d, double budget, const std::string& dir,
                                   const std::atomic<bool>& stop, const StepProgress& progress) {
  auto b = build(arm, d);
  nlohmann::json stats;
  // A step is ranks × one micro-batch of d.batch rows (data parallelism; one rank: one micro-batch).
  const int ranks = dist::Communicator::world().size();
  const double step_flops = ranks * probe_step_flops(*b, d.batch, stats);
  int64_t steps = std::llround(budget / step_flops);
  if (b->blt) steps = blt_steps(*b, d.batch, ranks, budget, step_flops / ranks);  // the patch size varies
  if (steps < kMinSteps)
    throw ConfigError("--budget " + format_flops(budget) + " is too small for arm " + arm.name +
                      ": one step costs " + format_flops(step_flops) + " FLOPs and it needs at least " +
                      std::to_string(kMinSteps) + " steps");
  auto r = run(arm.name, *b, trainer_config(d, steps, b->seq_len), dir, stop, progress);
  if (!r) return r;
  const double targets = r->extra["tokens_trained"].get<double>();
  if (b->blt) {
    auto& task = static_cast<pipeline::BltTask&>(*b->task);
    if (!task.last_validation()) task.validate();  // resumed after its last validation: the mean patch
    const auto& ev = task.last_validation();
    const double train_patch = stats.value("mean_patch_size", 1.0);
    r->mean_patch_bytes = ev ? ev->mean_patch_size : train_patch;
    r->inference_flops_per_byte = eval::blt_flops(b->blt->args, r->mean_patch_bytes, d.seq_len).total();
    r->extra["train_mean_patch_bytes"] = train_patch;
    if (arm.entropy_patched()) r->extra["threshold"] = arm.patcher.threshold;
  } else {
    const double per_token = eval::lm_flops_per_token(b->lm->args, b->seq_len);
    const bool bpe = arm.kind == ArmKind::Bpe;
    r->mean_patch_bytes =
        bpe ? static_cast<double>(d.valid_tokens->n_bytes()) / static_cast<double>(d.valid_tokens->ids.size())
            : 1.0;
    r->inference_flops_per_byte = per_token / r->mean_patch_bytes;
    r->analytic_train_flops = 3 * targets * per_token;
  }
  r->extra["budget"] = budget;
  return r;
}

std::optional<ArmResult> train_entropy_model(const ArmData& d, int64_t steps, const std::string& dir,
                                             const std::atomic<bool>& stop, const StepProgress& progress) {
  auto b = build_lm(entropy_args(d.width, d.seq_len), d, false);
  auto r = run("entropy-model", *b, trainer_config(d, steps, b->seq_len), dir, stop, progress);
  if (!r) return r;
  const double per_byte = eval::lm_flops_per_token(b->lm->args, b->seq_len);
  r->mean_patch_bytes = 1;
  r->inference_flops_per_byte = per_byte;
  r->analytic_train_flops = 3 * per_byte * r->extra["tokens_trained"].get<double>();
  r->extra["train_flops_per_byte"] = r->train_flops / r->extra["tokens_trained"].get<double>();
  r->extra["patching_flops"] = per_byte * static_cast<double>(d.train->bytes.size() + 2 * d.train->size());
  return r;
}

}  // namespace blt::experiment
