// `blt train`: trains a BLT. Patches come from the model's patcher settings:
// entropy patching runs the entropy model given with --entropy-model (copied
// into --out/entropy_model), over per-document entropies (read with
// --entropy-cache, else computed at the start exactly as `blt preprocess`
// computes them); space, static and byte patching need no model.
#include <filesystem>
#include <iostream>

#include "data/documents.h"
#include "pipeline/entropy_cache.h"
#include "pipeline/blt_task.h"
#include "eval/flops.h"
#include "modeldir/memory_plan.h"
#include "tools/blt/commands.h"
#include "tools/blt/job.h"
#include "tools/blt/progress.h"
#include "tools/blt/train_options.h"

namespace blt::cli {

namespace fs = std::filesystem;

Command add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a Byte Latent Transformer");
  cmd->footer(
      "The config file holds {\"args\": {ByteLatentTransformerArgs}, \"data\": {\"patcher_args\": {...}},\n"
      "\"train\": {...}}; flags override \"train\". Without data.patcher_args the entropy model's settings\n"
      "apply. Rows are seq_len bytes (default max_encoder_seq_length); each is patched with the next byte\n"
      "included. --out receives config.json, model.safetensors, train_args.json, entropy_model/, checkpoints/\n"
      "and metrics.jsonl. Ctrl-C saves a checkpoint; --resume continues it bit-exactly.");
  auto o = std::make_shared<TrainOptions>();
  auto entropy_dir = std::make_shared<std::string>(), cache_dir = std::make_shared<std::string>();
  add_train_options(*cmd, *o);
  cmd->add_option("--entropy-model", *entropy_dir, "Entropy model directory (for entropy patching)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--entropy-cache", *cache_dir,
                  "Entropies cached by `blt preprocess` (else computed per document at the start: the same values)")
      ->check(CLI::ExistingDirectory);
  return {cmd, [o, entropy_dir, cache_dir] {
    RunConfig run = prepare_run(*o, "args");
    model::BltArgs args;
    patching::PatcherArgs pa;
    std::optional<modeldir::EntropyModel> ent;
    if (o->resume) {
      // Configuration only: the weights come from the checkpoint.
      const modeldir::BltConfig saved = modeldir::read_blt_config(o->out);
      args = saved.args;
      pa = saved.patcher;
      if (pa.patching_mode == patching::PatchingMode::Entropy)
        ent = modeldir::EntropyModel::load((fs::path(o->out) / "entropy_model").string());
    } else {
      args = model::parse_blt_args(run.config["args"], o->config + ": args");
      if (!entropy_dir->empty()) ent = modeldir::EntropyModel::load(*entropy_dir);
      pa = modeldir::resolve_patcher_args({{run.config, o->config}}, ent ? ent->patcher : modeldir::patcher_from_args(args));
      if (pa.patching_mode == patching::PatchingMode::Entropy && !ent)
        throw ConfigError("entropy patching needs --entropy-model (or set data.patcher_args.patching_mode to "
                          "space, static or byte)");
      if (pa.patching_mode != patching::PatchingMode::Entropy) ent.reset();
      if (run.trainer.seq_len == 0) run.trainer.seq_len = args.max_encoder_seq_length;
      if (run.trainer.seq_len > args.max_encoder_seq_length)
        throw ConfigError("seq_len " + std::to_string(run.trainer.seq_len) + " exceeds max_encoder_seq_length " +
                          std::to_string(args.max_encoder_seq_length));
    }
    // The model, its gradients, AdamW moments and one micro-batch's activations must fit this machine.
    const modeldir::Workload step{true, run.trainer.batch, run.trainer.seq_len};
    modeldir::check_memory(modeldir::plan_memory(args, DType::F32, step),
                           o->config + " with --batch " + std::to_string(run.trainer.batch));
    const data::Corpus corpus = data::load_corpus(o->data);
    std::unique_ptr<data::Corpus> valid;
    if (!o->valid.empty()) valid = std::make_unique<data::Corpus>(data::load_corpus(o->valid));
    modeldir::BltModel m = modeldir::BltModel::create(args, pa, DType::F32, true);
    m.entropy = std::move(ent);
    Rng init(run.trainer.seed);
    m.params->initialize(init);
    if (is_writer())
      std::cerr << "BLT: " << m.params->numel() << " parameters, patching " << patching::to_string(pa.patching_mode)
              << "; " << corpus.size() << " documents, " << corpus.bytes.size() << " bytes\n";
    if (!cache_dir->empty() && !m.entropy)
      throw ConfigError("--entropy-cache needs entropy patching (the model patches by " +
                        patching::to_string(pa.patching_mode) + ")");
    data::SequenceStream stream(corpus, run.trainer.seq_len, run.trainer.seed);
    pipeline::EntropyCache cache;  // entropy patching reads per-document entropies: cached or computed here
    if (m.entropy) {
      ByteProgress line("entropies");
      cache = pipeline::training_entropies(corpus, *m.entropy, *cache_dir, [&](int64_t done, int64_t total) {
        line.update(static_cast<double>(done), static_cast<double>(total));
      });
      line.finish();
      stream.attach_side(cache.values);
    }
    if (!o->resume)  // only now that data, model and entropies are known to be good
      save_run(o->out, run.trainer, run.precision, *o, [&] { m.save(o->out); });
    use_precision(*m.params, run.precision);  // the BLT only: the entropy model patches as preprocess does
    pipeline::BltTask task(m, valid.get(), o->valid_bytes);
    train::Trainer trainer(run.trainer, task, stream, o->out);
    run_training(trainer, *o, "train");
    if (const auto& ev = task.last_validation(); ev && is_writer())
      std::cerr << "validation: bpb " << ev->bpb << ", mean patch size " << ev->mean_patch_size << ", "
                << ev->flops_total_per_byte() << " FLOPs/byte executed\n";
  }};
}

}  // namespace blt::cli
