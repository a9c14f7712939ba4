// `blt experiment`: the arms of experiment/arms.h trained at the same executed
// training FLOPs, with one progress line (and ETA) over the whole experiment;
// Ctrl-C checkpoints the running arm and the same command continues it.
#include <iostream>

#include "dist/communicator.h"
#include "experiment/experiment.h"
#include "io/file.h"
#include "tools/blt/commands.h"
#include "tools/blt/precision_option.h"
#include "tools/blt/interrupt.h"
#include "tools/blt/job.h"
#include "tools/blt/progress.h"

namespace blt::cli {

Command add_experiment(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("experiment", "Train BPE, BLT and byte-level arms at the same training FLOPs");
  cmd->footer(
      "Arms: bpe, blt-entropy (threshold calibrated to the BPE tokenizer's bytes per token), blt-entropy-8,\n"
      "blt-monotonic, blt-static-4, blt-static-8, blt-space, byte. One size family (--width W: LMs and the\n"
      "BLT's global model of width W, max(2, W/64) layers; local models W/2). The entropy model is trained "
      "first\n"
      "(outside the budget) unless --entropy-model is given. --out receives experiment.json, "
      "tokenizer.model,\n"
      "one run folder per arm, results.jsonl, results.md and bpb_vs_flops.svg; the same command continues "
      "an\n"
      "interrupted experiment (finished arms are kept).");
  auto o = std::make_shared<experiment::ExperimentOptions>();
  cmd->add_option("--data", o->data, "Training corpus: .txt, .jsonl, optionally .zst, or folders")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--valid", o->valid, "Held-out corpus for validation BPB")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--budget", o->budget, "Executed training FLOPs per arm, e.g. 1e13")->required();
  cmd->add_option("--arms", o->arms, "Comma-separated arms")->capture_default_str();
  cmd->add_option("--bpe-vocab", o->bpe_vocab, "BPE vocabulary size")->capture_default_str();
  cmd->add_option("--entropy-model", o->entropy_model,
                  "A trained entropy model directory (else one is trained)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--entropy-steps", o->entropy_steps, "Training steps of the entropy model")
      ->capture_default_str();
  cmd->add_option("--seq-len", o->seq_len, "Bytes per row")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Rows per step")->capture_default_str();
  cmd->add_option("--width", o->width, "Width of the size family (a multiple of 64)")->capture_default_str();
  cmd->add_option("--evals", o->evals, "Validations per arm (the points of the plot)")->capture_default_str();
  cmd->add_option("--valid-bytes", o->valid_bytes, "Bytes of --valid used (the first documents; 0: all)")
      ->capture_default_str();
  cmd->add_option("--lr", o->lr, "Peak learning rate of every arm")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of initialisation and data order")->capture_default_str();
  cmd->add_option("--out", o->out, "Output directory")->required();
  auto precision = std::make_shared<std::string>(kDefaultPrecision);
  add_precision_option(*cmd, *precision);
  return {
      cmd, [o, precision] {
        o->precision = resolve_precision(*precision);
        const bool writer = is_writer();  // under mpirun, rank 0 alone prints
        ProgressLine line;
        const auto show = [&](const experiment::Progress& p) {
          if (!writer) return;
          const double done = std::min(1.0, p.done_flops / p.total_flops);
          char buf[320];
          std::snprintf(buf, sizeof buf, "%s step %lld/%lld | experiment %s %3.0f%% of %.3g FLOPs | ETA %s",
                        p.stage.c_str(), static_cast<long long>(p.step), static_cast<long long>(p.steps),
                        progress_bar(done).c_str(), 100.0 * done, p.total_flops,
                        format_duration(p.eta_s).c_str());
          line.update(buf, p.step == p.steps);
        };
        const auto note = [&](const std::string& s) {
          if (!writer) return;
          line.finish();
          std::cerr << s << "\n";
        };
        const auto& stop = install_interrupt_handler(writer ? nullptr : "", dist::Communicator::world().distributed());
        if (!experiment::run_experiment(*o, stop, show, note, [&] { check_job(o->out); })) {
          line.finish();
          if (writer)
            std::cerr << "stopped; the running arm is checkpointed. Run the same command again to continue.\n";
          throw Interrupted();
        }
        line.finish();
        if (writer) std::cout << io::read_file(o->out + "/results.md");
      }};
}

}  // namespace blt::cli
