// The training loop, metrics log and checkpoint cadence.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"

namespace blt::train {

namespace fs = std::filesystem;

nlohmann::json to_json(const TrainerConfig& c) {
  return {{"steps", c.steps},
          {"batch", c.batch},
          {"seq_len", c.seq_len},
          {"grad_accum", c.grad_accum},
          {"lr", c.adam.lr},
          {"beta1", c.adam.beta1},
          {"beta2", c.adam.beta2},
          {"eps", c.adam.eps},
          {"weight_decay", c.adam.weight_decay},
          {"warmup", c.warmup},
          {"lr_min_ratio", c.lr_min_ratio},
          {"clip", c.clip},
          {"log_every", c.log_every},
          {"eval_every", c.eval_every},
          {"save_every", c.save_every},
          {"keep", c.keep},
          {"seed", c.seed}};
}

TrainerConfig trainer_config_from_json(const nlohmann::json& j, const std::string& where) {
  io::JsonFields f(j, where);
  TrainerConfig c;
  f.required("steps", c.steps);
  f.required("batch", c.batch);
  f.required("seq_len", c.seq_len);
  f.required("grad_accum", c.grad_accum);
  f.required("lr", c.adam.lr);
  f.required("beta1", c.adam.beta1);
  f.required("beta2", c.adam.beta2);
  f.required("eps", c.adam.eps);
  f.required("weight_decay", c.adam.weight_decay);
  f.required("warmup", c.warmup);
  f.required("lr_min_ratio", c.lr_min_ratio);
  f.required("clip", c.clip);
  f.required("log_every", c.log_every);
  f.required("eval_every", c.eval_every);
  f.required("save_every", c.save_every);
  f.required("keep", c.keep);
  f.required("seed", c.seed);
  f.finish();
  validate(c, where);
  return c;
}

namespace {
// ConfigError "where: field 'name' must be <want>, got <value>" unless ok.
template <class V>
void require(bool ok, const std::string& where, const char* name, const char* want, V value) {
  if (ok) return;
  std::ostringstream got;
  got << value;
  throw ConfigError(where + ": field '" + name + "' must be " + want + ", got " + got.str());
}
}  // namespace

void validate(const TrainerConfig& c, const std::string& where) {
  require(c.steps >= 1, where, "steps", "at least 1", c.steps);
  require(c.batch >= 1, where, "batch", "at least 1", c.batch);
  require(c.seq_len >= 0, where, "seq_len", "positive (or 0: the model's max)", c.seq_len);
  require(c.grad_accum >= 1, where, "grad_accum", "at least 1", c.grad_accum);
  require(std::isfinite(c.adam.lr) && c.adam.lr > 0, where, "lr", "a finite number above 0", c.adam.lr);
  require(c.adam.beta1 >= 0 && c.adam.beta1 < 1, where, "beta1", "in [0, 1)", c.adam.beta1);
  require(c.adam.beta2 >= 0 && c.adam.beta2 < 1, where, "beta2", "in [0, 1)", c.adam.beta2);
  require(std::isfinite(c.adam.eps) && c.adam.eps > 0, where, "eps", "a finite number above 0", c.adam.eps);
  require(std::isfinite(c.adam.weight_decay) && c.adam.weight_decay >= 0, where, "weight_decay",
          "a finite number >= 0", c.adam.weight_decay);
  require(c.warmup >= 0, where, "warmup", "at least 0", c.warmup);
  require(c.lr_min_ratio >= 0 && c.lr_min_ratio <= 1, where, "lr_min_ratio", "in [0, 1]", c.lr_min_ratio);
  require(std::isfinite(c.clip), where, "clip", "a finite number (<= 0: no clipping)", c.clip);
  require(c.log_every >= 1, where, "log_every", "at least 1", c.log_every);
  require(c.eval_every >= 0, where, "eval_every", "at least 0", c.eval_every);
  require(c.save_every >= 0, where, "save_every", "at least 0", c.save_every);
  require(c.keep >= 1, where, "keep", "at least 1", c.keep);
}

Trainer::Trainer(TrainerConfig cfg, TrainTask& task, data::SequenceStream& stream, std::string out_dir,
                 dist::Communicator& comm)
    : cfg_(cfg),
      task_(task),
      stream_(stream),
      out_dir_(std::move(out_dir)),
      comm_(comm),
      writer_(comm.rank() == 0),
      grad_sum_(comm, cfg.grad_accum),
      opt_(task.params(), cfg.adam),
      rng_(cfg.seed) {
  validate(cfg, "training");
  if (cfg.seq_len < 1) throw ConfigError("training: field 'seq_len' must be resolved to a positive length");
  if (stream.seq_len() != cfg.seq_len) throw InternalError("stream and trainer disagree on seq_len");
  state_.rng = rng_.state();
}

std::string Trainer::try_load(const std::string& dir) {
  try {
    state_ = load_checkpoint(dir, task_.params(), opt_);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

bool Trainer::resume(bool fallback) {
  const auto dirs = list_checkpoints(out_dir_);
  // Without `latest` (a crash between the first rename and its pointer) the newest directory is complete.
  auto latest = latest_checkpoint(out_dir_);
  if (!latest && !dirs.empty()) latest = dirs.back();
  if (!latest) return false;
  if (const std::string problem = try_load(*latest); !problem.empty()) {
    // The newest earlier checkpoint that loads completely.
    std::optional<std::string> previous;
    for (auto it = dirs.rbegin(); it != dirs.rend() && !previous; ++it)
      if (checkpoint_step(*it) < checkpoint_step(*latest) && try_load(*it).empty()) previous = *it;
    const std::string what = "the newest checkpoint " + *latest + " is unusable (" + problem + ")";
    if (!previous) throw FormatError(what + "; there is no intact earlier checkpoint");
    if (!fallback)
      throw FormatError(what + "; the previous intact checkpoint is " + *previous +
                        " (--resume-fallback resumes from it)");
    io::warn(what + "; resuming from the previous intact checkpoint " + *previous);
  }
  rng_.set_state(state_.rng);
  stream_.seek(state_.data);
  // Rank 0 carries the job's statistics window; the other ranks gather theirs from zero.
  if (writer_) task_.restore_stats_window(state_.task_window, "train_state.json: task_window");
  // Drop metrics lines from after the checkpoint (an interrupted run logged past it).
  const fs::path metrics = fs::path(out_dir_) / "metrics.jsonl";
  if (writer_ && fs::exists(metrics)) {
    std::istringstream in(io::read_file(metrics.string()));
    std::string line, kept;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      // An unparsable line is the torn tail of an interrupted append: dropped. A parsed line whose
      // "step" is not an exact int64 (1e30, 3.5, "x") is corruption: an error naming file and line.
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      int64_t step = 0;
      if (j.is_object()) {
        io::JsonFields f(j, metrics.string() + ":" + std::to_string(n));
        f.optional("step", step);
      }
      if (step <= state_.step) kept += line + "\n";
    }
    io::write_file_atomic(metrics.string(), kept);
  }
  return true;
}

void Trainer::log(const nlohmann::json& line) {
  if (!writer_) return;
  std::ofstream out(fs::path(out_dir_) / "metrics.jsonl", std::ios::app);
  out << line.dump() << "\n";
  if (!out) throw IoError((fs::path(out_dir_) / "metrics.jsonl").string() + ": cannot append");
}

void Trainer::save() {
  gather_stats();
  comm_.barrier();  // every rank is past the step: a checkpoint names a step the whole job completed
  if (writer_) {
    state_.data = stream_.position();
    state_.rng = rng_.state();
    state_.task_window = task_.stats_window();
    save_checkpoint(out_dir_, task_.params(), opt_, state_, cfg_.keep);
    task_.save_model(out_dir_);
  }
  comm_.barrier();  // and every rank may read what was written
}

std::optional<double> Trainer::validation() {
  const std::optional<double> bpb = task_.validate();  // every rank: a task may share the work
  if (!comm_.distributed()) return bpb;
  const double mine = bpb.value_or(std::nan(""));
  per_rank_.resize(static_cast<size_t>(comm_.size()));
  comm_.all_gather({&mine, 1}, per_rank_);
  const double v = per_rank_[0];  // rank 0's figure, exactly
  return std::isnan(v) ? std::nullopt : std::optional<double>(v);
}

void Trainer::gather_stats() {
  if (!comm_.distributed()) return;
  const auto windows = comm_.all_gather(task_.stats_window().dump());
  if (!writer_) {
    (void)task_.step_stats();  // absorbed by rank 0: start over
    return;
  }
  for (int r = 1; r < comm_.size(); ++r)
    task_.merge_stats_window(nlohmann::json::parse(windows[r]), "rank " + std::to_string(r) + " statistics");
}

double Trainer::forward_backward() {
  const int64_t K = grad_sum_.micro_batches();
  losses_.clear();
  for (int64_t micro = 0; micro < K; ++micro) {
    // Every rank reads every micro-batch, so the stream stays global; each computes its own.
    stream_.next_batch(cfg_.batch, rows_, stream_.has_side() ? &side_ : nullptr);
    if (!grad_sum_.mine(micro)) continue;
    task_.params().zero_grad();
    graph_.reset();
    Var loss = task_.loss(graph_, rows_,
                          stream_.has_side() ? std::span<const float>(side_) : std::span<const float>{},
                          cfg_.batch, cfg_.seq_len);
    const double value = loss.value.at(0);
    if (!std::isfinite(value)) {
      const auto bad = first_non_finite(task_.params(), ParamArena::Values);
      throw DivergenceError(
          "step " + std::to_string(state_.step + 1) + ": non-finite loss (" + std::to_string(value) +
          ") in micro-batch " + std::to_string(micro) +
          (bad ? "; non-finite weight in " + *bad : std::string("; the weights are finite")));
    }
    // Each micro-batch holds the same number of targets: average them over the job's K.
    dispatch(loss.dtype(), [&]<class T>() { *loss.grad().data<T>() = T(1) / static_cast<T>(K); });
    graph_.backward();
    losses_.push_back(value);
    const TensorView grads = task_.params().grads();
    grad_sum_.add(micro, {grads.data<float>(), static_cast<size_t>(grads.numel())});
  }
  const TensorView grads = task_.params().grads();
  grad_sum_.finish({grads.data<float>(), static_cast<size_t>(grads.numel())});
  // The micro-batch losses in k order (rank r's a-th is k = a·ranks + r), averaged as one process would.
  const int64_t R = comm_.size(), A = K / R;
  all_losses_.resize(static_cast<size_t>(K));
  comm_.all_gather(losses_, all_losses_);
  double step_loss = 0;
  for (int64_t k = 0; k < K; ++k) step_loss += all_losses_[(k % R) * A + k / R] / static_cast<double>(K);
  return step_loss;
}

double Trainer::clip_checked() {
  const double norm = clip_grad_norm(task_.params(), cfg_.clip);
  if (!std::isfinite(norm)) {
    const auto bad = first_non_finite(task_.params(), ParamArena::Grads);
    throw DivergenceError("step " + std::to_string(state_.step + 1) + ": non-finite gradient in " +
                          bad.value_or("(no tensor: the norm overflowed)"));
  }
  return norm;
}

namespace {

// One metrics line: the window's mean loss and FLOPs per byte (`targets` per step), the step's report
// `r` and the run's totals in `s`, then the task's stats.
nlohmann::json metrics_line(const TrainState& s, const StepReport& r, const LogWindow& w, int64_t targets) {
  nlohmann::json line = {{"step", s.step},
                         {"loss", w.loss / w.steps},
                         {"bpb", w.loss / w.steps / std::log(2.0)},
                         {"lr", r.lr},
                         {"grad_norm", r.grad_norm},
                         {"bytes_per_s", r.bytes_per_s},
                         {"tokens_seen", s.tokens_seen},
                         {"seconds", s.seconds}};
  if (r.valid_bpb) line["valid_bpb"] = *r.valid_bpb;
  // FLOPs the ops executed (forward + backward) per training byte since the last line.
  line["flops_per_byte"] = w.flops / static_cast<double>(w.steps * targets);
  line["flops"] = s.flops;
  for (auto& [k, v] : r.stats.items()) line[k] = v;
  return line;
}

}  // namespace

int64_t Trainer::run(const std::atomic<bool>& stop, const std::function<void(const StepReport&)>& report) {
  using clock = std::chrono::steady_clock;
  const ScheduleConfig sched{cfg_.warmup, cfg_.steps, cfg_.lr_min_ratio};
  const auto run_start = clock::now();
  const double seconds_before = state_.seconds;
  int64_t run_targets = 0, run_steps = 0;
  LogWindow& window = state_.window;  // checkpointed: a resumed run logs the lines an uninterrupted one does
  check_replicas(comm_, task_.params(),
                 to_json(cfg_).dump() + to_json(state_).dump() + std::to_string(stream_.n_documents()) + " " +
                     std::to_string(stream_.tokens_per_epoch()));
  double window_comm_s = 0, window_step_s = 0;  // since the last metrics line
  // Mixed precision: the task's registry has a bf16 mirror; it follows the weights (initialised or resumed).
  const nn::ParamRegistry& params = task_.params();
  params.refresh_bf16_mirror();
  graph_.set_precision(params.precision());
  while (state_.step < cfg_.steps) {
    if (comm_.any(stop.load())) {  // the ranks stop together, at the same step
      save();
      return state_.step;
    }
    const auto step_start = clock::now();
    const double step_loss = forward_backward();
    const double comm_s = grad_sum_.take_comm_seconds();
    // FLOPs the job's ops executed this step (forward + backward, every rank's: whole numbers, summed
    // exactly).
    const double mine = graph_.flops().total_forward() + graph_.flops().total_backward();
    graph_.flops().clear();
    double step_flops = 0;
    per_rank_.resize(static_cast<size_t>(comm_.size()));
    comm_.all_gather({&mine, 1}, per_rank_);
    for (double f : per_rank_) step_flops += f;
    state_.flops += step_flops;
    window.flops += step_flops;
    const double grad_norm = clip_checked();
    if (const auto warning = loss_watch_.observe(state_.step + 1, step_loss)) io::warn(*warning);
    const double lr = cfg_.adam.lr * lr_factor(sched, state_.step + 1);
    opt_.step(lr);
    params.refresh_bf16_mirror();
    if (const auto bad = first_non_finite(task_.params(), ParamArena::Values))
      throw DivergenceError("step " + std::to_string(state_.step + 1) + ": non-finite weight in " + *bad);
    ++state_.step;
    const int64_t targets = cfg_.batch * cfg_.seq_len * grad_sum_.micro_batches();
    state_.tokens_seen += targets;
    run_targets += targets;
    window.loss += step_loss;
    ++window.steps;
    const double run_seconds = std::chrono::duration<double>(clock::now() - run_start).count();
    state_.seconds = seconds_before + run_seconds;

    StepReport r;
    r.step = state_.step;
    r.total = cfg_.steps;
    r.loss = step_loss;
    r.lr = lr;
    r.grad_norm = grad_norm;
    r.bytes_per_s = run_targets / std::max(run_seconds, 1e-9);
    r.elapsed = state_.seconds;
    r.eta = static_cast<double>(cfg_.steps - state_.step) * run_seconds / static_cast<double>(++run_steps);
    window_comm_s += comm_s;
    window_step_s += std::chrono::duration<double>(clock::now() - step_start).count();
    r.comm_share = window_comm_s / std::max(window_step_s, 1e-9);
    const bool last = state_.step == cfg_.steps;
    if (last || (cfg_.eval_every > 0 && state_.step % cfg_.eval_every == 0)) r.valid_bpb = validation();
    if (last || state_.step % cfg_.log_every == 0 || r.valid_bpb) {
      gather_stats();
      r.stats = task_.step_stats();
      nlohmann::json line = metrics_line(state_, r, window, targets);
      if (comm_.distributed()) line["comm_share"] = r.comm_share;
      line["precision"] = precision_name(params.precision());
      log(line);
      window = LogWindow{};
      window_comm_s = window_step_s = 0;
    }
    if (writer_) report(r);
    if (last || (cfg_.save_every > 0 && state_.step % cfg_.save_every == 0)) save();
  }
  return state_.step;
}

}  // namespace blt::train
