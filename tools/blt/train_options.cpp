// Trainer flags, run.json and the training progress line.
#include "tools/blt/train_options.h"

#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "io/atomic_file.h"
#include "dist/communicator.h"
#include "io/json_fields.h"
#include "tools/blt/commands.h"
#include "tools/blt/interrupt.h"
#include "tools/blt/job.h"
#include "tools/blt/progress.h"

namespace blt::cli {

namespace fs = std::filesystem;

namespace {
// "--grad-accum" -> "grad_accum": the flag's field in train::to_json(TrainerConfig).
std::string flag_key(const CLI::Option* flag) {
  std::string key = flag->get_name().substr(2);
  for (char& ch : key)
    if (ch == '-') ch = '_';
  return key;
}

// The files a run writes into --out: what --force removes (only these; --out may hold other files).
constexpr const char* kRunFiles[] = {"checkpoints", "metrics.jsonl", "run.json", "config.json", "train_args.json",
                                     "model.safetensors", "params.json", "entropy_model"};

// Removes the temporaries a killed run left in out, with a one-line notice.
void remove_stale(const std::string& out) {
  const auto stale = train::remove_stale_temporaries(out);
  if (stale.empty()) return;
  std::cerr << "removed " << stale.size() << " stale temporary file(s) of an interrupted run: " << stale.front()
            << (stale.size() > 1 ? " ..." : "") << "\n";
}

// Removes the run files in out; returns the names removed.
std::string remove_run_files(const std::string& out) {
  std::string removed;
  for (const char* name : kRunFiles) {
    std::error_code ec;
    if (fs::remove_all(fs::path(out) / name, ec) > 0) removed += std::string(removed.empty() ? "" : ", ") + name;
  }
  return removed;
}

// A new run needs an empty --out (stale temporaries aside), or --force.
void check_out_is_free(const TrainOptions& o) {
  if (!fs::exists(o.out)) return;
  if (!fs::is_directory(o.out)) throw ConfigError("--out " + o.out + " is not a directory");
  for (const auto& e : fs::directory_iterator(o.out)) {
    const std::string name = e.path().filename().string();
    if (train::is_temporary_name(name) || o.force) continue;
    throw ConfigError("--out " + o.out + " is not empty (it holds " + name +
                      "): pass --resume to continue its run, --force to replace it, or choose another --out");
  }
}
}  // namespace

void add_train_options(CLI::App& cmd, TrainOptions& o) {
  cmd.add_option("--data", o.data, "Training corpus: .txt, .jsonl (\"text\" field), optionally .zst, or folders")
      ->check(CLI::ExistingPath);
  cmd.add_option("--valid", o.valid, "Held-out corpus for validation BPB")->check(CLI::ExistingPath);
  cmd.add_option("--config", o.config, "Model + training configuration (JSON); see configs/")->check(CLI::ExistingFile);
  cmd.add_option("--out", o.out, "Output directory: model files, checkpoints/, metrics.jsonl")->required();
  auto* resume = cmd.add_flag("--resume", o.resume, "Continue the run in --out from its newest checkpoint, bit-exactly");
  cmd.add_flag("--resume-fallback", o.resume_fallback,
               "With --resume: if the newest checkpoint is unusable, resume from the previous intact one")
      ->needs(resume);
  cmd.add_flag("--force", o.force,
               "A new run into a non-empty --out: first remove the earlier run's checkpoints/, metrics.jsonl, "
               "run.json and model files")
      ->excludes(resume);
  cmd.add_option("--valid-bytes", o.valid_bytes, "Bytes of --valid per validation (0: all)")->capture_default_str();
  o.precision_flag = add_precision_option(cmd, o.precision);
  auto& t = o.trainer;
  o.trainer_flags = {
      cmd.add_option("--steps", t.steps, "Optimizer steps")->capture_default_str(),
      cmd.add_option("--batch", t.batch, "Rows per micro-batch")->capture_default_str(),
      cmd.add_option("--seq-len", t.seq_len, "Tokens per row (0: the model's max_seqlen)")->capture_default_str(),
      cmd.add_option("--grad-accum", t.grad_accum, "Micro-batches per optimizer step")->capture_default_str(),
      cmd.add_option("--lr", t.adam.lr, "Peak learning rate")->capture_default_str(),
      cmd.add_option("--weight-decay", t.adam.weight_decay, "AdamW decoupled weight decay")->capture_default_str(),
      cmd.add_option("--warmup", t.warmup, "Linear warmup steps")->capture_default_str(),
      cmd.add_option("--lr-min-ratio", t.lr_min_ratio, "Cosine floor, fraction of --lr")->capture_default_str(),
      cmd.add_option("--clip", t.clip, "Max global gradient norm (0: off)")->capture_default_str(),
      cmd.add_option("--log-every", t.log_every, "Steps between metrics lines")->capture_default_str(),
      cmd.add_option("--eval-every", t.eval_every, "Steps between validations (0: at the end)")->capture_default_str(),
      cmd.add_option("--save-every", t.save_every, "Steps between checkpoints (0: at the end)")->capture_default_str(),
      cmd.add_option("--keep", t.keep, "Checkpoints kept")->capture_default_str(),
      cmd.add_option("--seed", t.seed, "Seed of initialisation and data order")->capture_default_str(),
  };
}

train::TrainerConfig resolve_trainer_config(const TrainOptions& o, const nlohmann::json* train_section,
                                            const std::string& where) {
  nlohmann::json j = train::to_json(train::TrainerConfig{});
  if (train_section) {
    if (!train_section->is_object()) throw ConfigError(where + ": field 'train' must be an object");
    for (auto& [k, v] : train_section->items()) {
      if (!j.contains(k)) {
        io::warn(where + ": train: unknown field '" + k + "' ignored");
        continue;
      }
      j[k] = v;
    }
  }
  // Explicit flags win.
  const nlohmann::json flags = train::to_json(o.trainer);
  for (CLI::Option* f : o.trainer_flags) {
    if (!f->count()) continue;
    j[flag_key(f)] = flags.at(flag_key(f));
  }
  return train::trainer_config_from_json(j, where + ": train");
}

void save_run(const std::string& out, const train::TrainerConfig& cfg, Precision precision, const TrainOptions& o,
              const std::function<void()>& save_model) {
  check_job(out);
  if (!is_writer()) return;
  fs::create_directories(out);
  remove_stale(out);
  if (o.force)
    if (const std::string removed = remove_run_files(out); !removed.empty())
      std::cerr << "--force: removed the earlier run's " << removed << " from " << out << "\n";
  const nlohmann::json run = {{"train", train::to_json(cfg)}, {"data", o.data}, {"valid", o.valid},
                              {"valid_bytes", o.valid_bytes}, {"ranks", dist::Communicator::world().size()},
                              {"precision", precision_name(precision)}};
  try {
    save_model();
    // Last: a run.json means the model files are complete.
    io::write_file_atomic((fs::path(out) / "run.json").string(), run.dump(2) + "\n");
  } catch (...) {
    remove_run_files(out);  // nothing half-set-up stays behind (a full disk): the same command can run again
    throw;
  }
}

train::TrainerConfig load_run(const std::string& out, TrainOptions& o) {
  const std::string path = (fs::path(out) / "run.json").string();
  if (!fs::exists(path)) throw IoError(path + ": not found; --resume needs the --out of an earlier run");
  const nlohmann::json run = io::read_json_file(path);
  io::JsonFields f(run, path);
  train::TrainerConfig saved = train::trainer_config_from_json(f.object("train"), path + ": train");
  std::vector<std::string> data, valid;
  int64_t valid_bytes = 0, ranks = 1;
  std::string precision = "fp32";  // runs from before --precision ran in fp32
  f.required("data", data);
  f.required("valid", valid);
  f.required("valid_bytes", valid_bytes);
  f.optional("ranks", ranks);
  f.optional("precision", precision);
  f.finish();
  if (precision != "fp32" && precision != "bf16") throw FormatError(path + ": 'precision' must be fp32 or bf16");
  if (!o.precision_flag || !o.precision_flag->count()) o.precision = precision;
  // The global batch (ranks × grad_accum micro-batches) is the run's; a resume under another rank count
  // splits it anew.
  const int64_t micro = saved.grad_accum * std::max<int64_t>(ranks, 1), now = dist::Communicator::world().size();
  if (micro % now != 0)
    throw dist::JobError("--resume: the run's global batch is " + std::to_string(micro) + " micro-batches of " +
                      std::to_string(saved.batch) + " rows (ranks × grad_accum, " + path + "); " +
                      std::to_string(now) + " ranks do not divide it");
  saved.grad_accum = micro / now;
  if (!o.data.empty() && o.data != data) throw ConfigError("--resume: --data differs from the run's (" + path + ")");
  if (!o.valid.empty() && o.valid != valid) throw ConfigError("--resume: --valid differs from the run's (" + path + ")");
  o.data = data;
  o.valid = valid;
  o.valid_bytes = valid_bytes;
  const nlohmann::json want = train::to_json(o.trainer), have = train::to_json(saved);
  for (CLI::Option* flag : o.trainer_flags) {
    if (!flag->count()) continue;
    const std::string key = flag_key(flag);
    if (key == "steps") {
      if (o.trainer.steps < saved.steps)
        throw ConfigError("--resume: --steps " + std::to_string(o.trainer.steps) + " is below the run's " +
                          std::to_string(saved.steps));
      if (o.trainer.steps != saved.steps)
        io::warn("--steps grows the run from " + std::to_string(saved.steps) +
                 ": the cosine schedule stretches, so the continuation is not the original run's");
      saved.steps = o.trainer.steps;
    } else if (want.at(key) != have.at(key)) {
      throw ConfigError("--resume: --" + flag->get_name().substr(2) + " " + want.at(key).dump() +
                        " contradicts the run's " + have.at(key).dump() + " (" + path + ")");
    }
  }
  return saved;
}

RunConfig prepare_run(TrainOptions& o, const char* section) {
  RunConfig r;
  if (o.valid_bytes < 0) throw ConfigError("--valid-bytes must be at least 0, got " + std::to_string(o.valid_bytes));
  if (o.resume) {
    r.trainer = load_run(o.out, o);
    r.precision = resolve_precision(o.precision);
    return r;
  }
  if (o.config.empty()) throw ConfigError("--config is required for a new run (see configs/)");
  if (o.data.empty()) throw ConfigError("--data is required for a new run");
  check_out_is_free(o);
  r.config = io::read_json_file(o.config);
  if (!r.config.is_object() || !r.config.contains(section))
    throw ConfigError(o.config + ": missing required field '" + section + "'");
  for (auto& [k, v] : r.config.items())
    if (k != section && k != "data" && k != "train") io::warn(o.config + ": unknown field '" + k + "' ignored");
  if (r.config.contains("train") && !r.config["train"].is_object())
    throw ConfigError(o.config + ": field 'train' must be an object");
  r.trainer = resolve_trainer_config(o, r.config.contains("train") ? &r.config["train"] : nullptr, o.config);
  r.precision = resolve_precision(o.precision);
  return r;
}

namespace {
// Trainer reports on the progress line; validation results on their own lines.
class TrainProgress {
 public:
  void operator()(const train::StepReport& r) {
    if (r.stats.contains("mean_patch_size")) mean_patch_ = r.stats["mean_patch_size"].get<double>();
    char patches[64] = "";
    if (mean_patch_ > 0) std::snprintf(patches, sizeof patches, " | %.0f patches/s", r.bytes_per_s / mean_patch_);
    char buf[320];
    std::snprintf(buf, sizeof buf, "step %lld/%lld %s %3.0f%% | %s%s | loss %.4f | bpb %.4f | ETA %s",
                  static_cast<long long>(r.step), static_cast<long long>(r.total),
                  progress_bar(static_cast<double>(r.step) / r.total).c_str(), 100.0 * r.step / r.total,
                  format_rate(r.bytes_per_s).c_str(), patches, r.loss, r.loss / std::log(2.0),
                  format_duration(r.eta).c_str());
    line_.update(buf, r.valid_bpb.has_value() || r.step == r.total);
    if (r.valid_bpb) {
      line_.finish();
      std::cerr << "step " << r.step << ": validation bpb " << *r.valid_bpb << "\n";
    }
  }
  void finish() { line_.finish(); }

 private:
  ProgressLine line_;
  double mean_patch_ = 0;  // the BLT's last logged mean patch size (0: not a BLT)
};
}  // namespace

void run_training(train::Trainer& trainer, const TrainOptions& o, const std::string& command) {
  const bool writer = is_writer();
  if (o.resume) {
    check_job(o.out);
    if (writer) remove_stale(o.out);
    dist::Communicator::world().barrier();  // no rank reads a checkpoint rank 0 is still tidying
    if (!trainer.resume(o.resume_fallback)) throw ConfigError(o.out + ": no checkpoint to resume from");
    if (writer) std::cerr << "resumed at step " << trainer.state().step << "\n";
  }
  TrainProgress progress;
  // Under mpirun: rank 0 alone says it, and the launcher's SIGTERM after a Ctrl-C is the same request.
  const bool job = dist::Communicator::world().distributed();
  const auto& stop = install_interrupt_handler(writer ? nullptr : "", job);
  const int64_t reached = trainer.run(stop, [&](const train::StepReport& r) { progress(r); });
  progress.finish();
  if (!writer) {
    if (reached < trainer.config().steps) throw Interrupted();
    return;
  }
  if (reached < trainer.config().steps) {
    std::cerr << "stopped at step " << reached << "; checkpoint saved. Continue with: blt " << command << " --out "
              << o.out << " --resume\n";
    throw Interrupted();
  }
  const auto& st = trainer.state();
  std::cerr << "trained " << st.step << " steps on " << format_bytes(static_cast<double>(st.tokens_seen))
            << " in " << format_duration(st.seconds) << ", " << st.flops / 1e12 << " TFLOP executed; model written to "
            << o.out << "\n";
}

}  // namespace blt::cli
