// run_experiment: checks, then the tokenizer, the entropy model, its entropies
// and calibrated thresholds, and the arms one after another (experiment.h).
#include "experiment/experiment.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "data/bpe_tokenizer.h"
#include "dist/communicator.h"
#include "eval/flops.h"
#include "eval/lm_bpb.h"
#include "experiment/arm_run.h"
#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"
#include "patching/calibrate.h"
#include "pipeline/entropy_cache.h"

namespace blt::experiment {

namespace fs = std::filesystem;

namespace {

struct Setup {
  std::vector<Arm> arms;
  data::Corpus train, valid;
  std::optional<data::BpeTokenizer> bpe;
  data::TokenCorpus train_tokens, valid_tokens;
  ArmData d;
};

void require(bool ok, const std::string& option, const std::string& value, const std::string& want) {
  if (!ok) throw ConfigError(option + " " + value + ": " + want);
}

void check_options(const ExperimentOptions& o) {
  require(std::isfinite(o.budget) && o.budget > 0, "--budget", format_flops(o.budget),
          "must be a positive number of FLOPs");
  require(o.seq_len >= 8 && o.seq_len <= 8192, "--seq-len", std::to_string(o.seq_len),
          "must be in [8, 8192]");
  require(o.batch >= 1 && o.batch <= 4096, "--batch", std::to_string(o.batch), "must be in [1, 4096]");
  require(o.evals >= 1, "--evals", std::to_string(o.evals), "must be at least 1");
  require(o.entropy_steps >= 1, "--entropy-steps", std::to_string(o.entropy_steps), "must be at least 1");
  require(o.valid_bytes >= 0, "--valid-bytes", std::to_string(o.valid_bytes), "must be at least 0");
  require(std::isfinite(o.lr) && o.lr > 0, "--lr", std::to_string(o.lr), "must be a positive number");
  check_width(o.width, "--width");
  if (o.data.empty()) throw ConfigError("--data is required");
  if (o.valid.empty()) throw ConfigError("--valid is required");
}

// A non-empty --out must hold an experiment with the same settings (then it continues).
void check_out(const ExperimentOptions& o) {
  if (!fs::exists(o.out)) return;
  if (!fs::is_directory(o.out)) throw ConfigError("--out " + o.out + " is not a directory");
  if (fs::is_empty(o.out)) return;
  const fs::path saved = fs::path(o.out) / "experiment.json";
  if (!fs::exists(saved))
    throw ConfigError("--out " + o.out + " is not empty and holds no experiment.json: choose another --out");
  if (io::read_json_file(saved.string()) != to_json(o))
    throw ConfigError("--out " + o.out + " holds an experiment with other settings (" + saved.string() +
                      "): repeat its settings to continue it, or choose another --out");
}

// The first documents of c up to max_bytes (the last one cut; 0: all of c).
data::Corpus head(const data::Corpus& c, int64_t max_bytes) {
  if (max_bytes <= 0 || static_cast<int64_t>(c.bytes.size()) <= max_bytes) return c;
  data::Corpus h;
  for (size_t i = 0; i < c.size() && static_cast<int64_t>(h.bytes.size()) < max_bytes; ++i)
    h.add(c.doc(i).substr(0, static_cast<size_t>(max_bytes - static_cast<int64_t>(h.bytes.size()))));
  return h;
}

void check_rows(int64_t tokens, int64_t row, const std::string& what) {
  if (tokens < row + 1)
    throw ConfigError("--data: the training corpus holds " + std::to_string(tokens) + " " + what +
                      " (with BOS/EOS), fewer than one row of " + std::to_string(row + 1) + " (--seq-len)");
}

// The BPE tokenizer (the saved one of an earlier run, else trained now), the token corpora and bytes/token.
void prepare_bpe(Setup& s, const ExperimentOptions& o) {
  const fs::path saved = fs::path(o.out) / "tokenizer.model";
  s.bpe = fs::exists(saved) ? data::BpeTokenizer::load(saved.string())
                            : data::BpeTokenizer::train(s.train, o.bpe_vocab, o.seed, "--bpe-vocab");
  s.train_tokens = s.bpe->encode_corpus(s.train);
  s.valid_tokens = s.bpe->encode_corpus(s.valid);
  s.d.train_tokens = &s.train_tokens;
  s.d.valid_tokens = &s.valid_tokens;
  s.d.bpe_vocab = s.bpe->vocab_size();
  s.d.bytes_per_token =
      static_cast<double>(s.train_tokens.n_bytes()) / static_cast<double>(s.train_tokens.ids.size());
}

std::unique_ptr<Setup> prepare(const ExperimentOptions& o) {
  check_options(o);
  auto s = std::make_unique<Setup>();
  s->arms = parse_arms(o.arms, "--arms");
  check_out(o);
  s->train = data::load_corpus(o.data);
  s->valid = head(data::load_corpus(o.valid), o.valid_bytes);
  check_rows(static_cast<int64_t>(s->train.bytes.size() + 2 * s->train.size()), o.seq_len, "bytes");
  ArmData& d = s->d;
  d.train = &s->train;
  d.valid = &s->valid;
  d.width = o.width, d.seq_len = o.seq_len, d.batch = o.batch, d.evals = o.evals, d.lr = o.lr,
  d.seed = o.seed;
  d.precision = o.precision;
  d.bytes_per_token = 4.5;
  const bool bpe = std::any_of(s->arms.begin(), s->arms.end(),
                               [](const Arm& a) { return a.kind == ArmKind::Bpe || a.calibrate_to_bpe; });
  if (bpe) prepare_bpe(*s, o);
  for (const Arm& a : s->arms) {
    if (a.kind == ArmKind::Bpe)
      check_rows(static_cast<int64_t>(s->train_tokens.ids.size() + 2 * s->train_tokens.size()),
                 arm_seq_len(a, d), "BPE tokens");
    check_arm_memory(a, d);
    const double step = nominal_step_flops(a, d);
    if (o.budget < kMinArmSteps * step)
      throw ConfigError("--budget " + format_flops(o.budget) + " is too small for arm " + a.name +
                        ": one step costs about " + format_flops(step) + " FLOPs and an arm needs at least " +
                        std::to_string(kMinArmSteps) + " steps");
  }
  return s;
}

// The entropy model's row when it was given (--entropy-model): its valid BPB, nothing trained.
ArmResult given_entropy_row(const std::string& dir, const ArmData& d) {
  const modeldir::EntropyModel m = modeldir::EntropyModel::load(dir);
  data::EvalWindows windows(*d.valid, m.args.max_seqlen);
  ArmResult r;
  r.arm = "entropy-model";
  r.params = m.params->numel();
  r.mean_patch_bytes = 1;
  r.inference_flops_per_byte = eval::lm_flops_per_token(m.args, m.args.max_seqlen);
  r.valid_bpb = eval::lm_bpb(*m.model, windows, 0);
  r.extra["given"] = dir;
  r.extra["patching_flops"] =
      r.inference_flops_per_byte * static_cast<double>(d.train->bytes.size() + 2 * d.train->size());
  return r;
}

// The training split's per-document entropies under the entropy model: cached in out/entropy-cache.
// Under data parallelism rank 0 computes and writes them, and the other ranks read them.
pipeline::EntropyCache training_entropies(const data::Corpus& train, const std::string& model_dir,
                                          const std::string& out) {
  const modeldir::EntropyModel m = modeldir::EntropyModel::load(model_dir);
  const std::string dir = (fs::path(out) / "entropy-cache").string();
  dist::Communicator& comm = dist::Communicator::world();
  pipeline::EntropyCache cache;
  if (comm.rank() == 0) {
    if (fs::exists(fs::path(dir) / "cache.json")) {
      cache = pipeline::read_entropy_cache(dir, train, m);
    } else {
      cache = pipeline::training_entropies(train, m, "");
      pipeline::write_entropy_cache(dir, cache, train, pipeline::cache_chunk(m));
    }
  }
  comm.barrier();
  return comm.rank() == 0 ? std::move(cache) : pipeline::read_entropy_cache(dir, train, m);
}

// The global threshold whose mean patch over row-sized pieces of the training entropies is `target`.
double calibrate(const Arm& arm, const data::Corpus& train, std::span<const float> h, int64_t row,
                 double target, const std::function<void(const std::string&)>& note) {
  std::vector<std::vector<float>> rows;
  int64_t taken = 0;
  for (size_t d = 0; d < train.size() && taken < (int64_t{1} << 21); ++d) {
    const int64_t begin = train.offsets[d] + 2 * static_cast<int64_t>(d), n = train.doc_size(d) + 2;
    for (int64_t k = 0; k < n; k += row, taken += row)
      rows.emplace_back(h.begin() + begin + k, h.begin() + begin + std::min(n, k + row));
  }
  const patching::Calibration c = patching::calibrate_threshold(arm.patcher, rows, target, true);
  note(arm.name + ": threshold " + std::to_string(c.threshold) + " for a mean patch of " +
       std::to_string(c.achieved_mean) + " bytes (target " + std::to_string(target) + ")" +
       (c.clamped ? "; the target is out of reach" : ""));
  return c.threshold;
}

}  // namespace

nlohmann::json to_json(const ExperimentOptions& o) {
  return {{"data", o.data},
          {"valid", o.valid},
          {"budget", o.budget},
          {"arms", o.arms},
          {"bpe_vocab", o.bpe_vocab},
          {"entropy_model", o.entropy_model},
          {"entropy_steps", o.entropy_steps},
          {"seq_len", o.seq_len},
          {"batch", o.batch},
          {"width", o.width},
          {"evals", o.evals},
          {"valid_bytes", o.valid_bytes},
          {"lr", o.lr},
          {"seed", o.seed}};
}

namespace {

// FLOPs done and planned over the whole experiment, and the ETA from this run's rate.
class Tracker {
 public:
  Tracker(double total, const std::function<void(const Progress&)>& out) : total_(total), out_(out) {}
  void finished(double flops) { done_ += flops; }
  void started() {
    start_done_ = done_;
    start_ = std::chrono::steady_clock::now();
  }
  void operator()(const std::string& stage, int64_t step, int64_t steps, double stage_flops) {
    Progress p{stage, step, steps, done_ + stage_flops, total_, 0};
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = (p.done_flops - start_done_) / std::max(s, 1e-9);
    p.eta_s = rate > 0 ? std::max(0.0, total_ - p.done_flops) / rate : 0;
    if (out_) out_(p);
  }

 private:
  double total_, done_ = 0, start_done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  const std::function<void(const Progress&)>& out_;
};

const ArmResult* find(const std::vector<ArmResult>& rs, const std::string& arm) {
  for (const auto& r : rs)
    if (r.arm == arm) return &r;
  return nullptr;
}

}  // namespace

bool run_experiment(const ExperimentOptions& o, const std::atomic<bool>& stop,
                    const std::function<void(const Progress&)>& progress,
                    const std::function<void(const std::string&)>& note,
                    const std::function<void()>& before_writing) {
  const auto s = prepare(o);
  ArmData& d = s->d;
  if (before_writing) before_writing();
  // Under mpirun every rank runs the experiment (each arm's trainer splits its steps); rank 0 alone writes.
  dist::Communicator& comm = dist::Communicator::world();
  const bool writer = comm.rank() == 0;
  const auto publish = [&](const std::vector<ArmResult>& rs) {
    if (writer) write_results(o.out, rs, o.budget);
  };
  if (writer) {
    fs::create_directories(o.out);
    io::write_file_atomic((fs::path(o.out) / "experiment.json").string(), to_json(o).dump(2) + "\n");
    if (s->bpe && !fs::exists(fs::path(o.out) / "tokenizer.model"))
      s->bpe->save((fs::path(o.out) / "tokenizer.model").string());
  }
  comm.barrier();
  if (s->bpe)
    note("BPE tokenizer: " + std::to_string(d.bpe_vocab) + " pieces, " + std::to_string(d.bytes_per_token) +
         " bytes per token on the training split");
  std::vector<ArmResult> results = read_results((fs::path(o.out) / "results.jsonl").string());
  const double entropy_cost = 3.0 * static_cast<double>(o.entropy_steps * o.batch * o.seq_len) *
                              eval::lm_flops_per_token(entropy_args(o.width, o.seq_len), o.seq_len);
  Tracker track(o.budget * static_cast<double>(s->arms.size()) + (o.entropy_model.empty() ? entropy_cost : 0),
                progress);
  for (const auto& r : results) track.finished(r.arm == "entropy-model" ? entropy_cost : r.train_flops);
  track.started();
  const auto step = [&](const std::string& arm, int64_t i, int64_t n, double f) { track(arm, i, n, f); };

  d.entropy_dir = o.entropy_model.empty() ? (fs::path(o.out) / "entropy-model").string() : o.entropy_model;
  if (!find(results, "entropy-model")) {
    std::optional<ArmResult> r = o.entropy_model.empty()
                                     ? train_entropy_model(d, o.entropy_steps, d.entropy_dir, stop, step)
                                     : given_entropy_row(o.entropy_model, d);
    if (!r) return false;
    track.finished(entropy_cost);
    results.insert(results.begin(), *r);
    publish(results);
  }
  pipeline::EntropyCache cache;
  for (Arm a : s->arms) {
    if (find(results, a.name)) continue;
    if (a.entropy_patched()) {
      if (cache.values.empty()) cache = training_entropies(s->train, d.entropy_dir, o.out);
      d.entropies = cache.values;
      a.patcher.threshold = calibrate(a, s->train, cache.values, o.seq_len,
                                      a.calibrate_to_bpe ? d.bytes_per_token : a.target_patch, note);
    }
    const auto r = train_arm(a, d, o.budget, (fs::path(o.out) / a.name).string(), stop, step);
    if (!r) return false;
    track.finished(r->train_flops);
    results.push_back(*r);
    publish(results);
    note(a.name + ": valid bpb " + std::to_string(r->valid_bpb) + " after " + std::to_string(r->train_flops) +
         " training FLOPs");
  }
  publish(results);
  comm.barrier();  // every rank returns once the results are written
  return true;
}

}  // namespace blt::experiment
