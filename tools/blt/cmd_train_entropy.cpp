// `blt train-entropy`: trains the byte-level entropy model and writes it in
// the official entropy model layout (params.json + weights) under --out.
#include <filesystem>
#include <iostream>

#include "data/documents.h"
#include "modeldir/memory_plan.h"
#include "modeldir/patcher_settings.h"
#include "pipeline/entropy_task.h"
#include "tools/blt/commands.h"
#include "tools/blt/job.h"
#include "tools/blt/train_options.h"

namespace blt::cli {

namespace fs = std::filesystem;

Command add_train_entropy(CLI::App& app) {
  auto* cmd = app.add_subcommand("train-entropy", "Train a byte-level entropy model (LMTransformer)");
  cmd->footer(
      "Documents are wrapped BOS...EOS, packed into rows of seq_len+1 tokens and visited in a seeded\n"
      "shuffled order. The config file holds {\"entropy_model\": {LMTransformerArgs}, \"data\": {\"patcher_args\":\n"
      "{...}}, \"train\": {...}}; flags override \"train\". Ctrl-C saves a checkpoint; --resume continues it.");
  auto o = std::make_shared<TrainOptions>();
  add_train_options(*cmd, *o);
  return {cmd, [o] {
    RunConfig run = prepare_run(*o, "entropy_model");
    modeldir::EntropyModelConfig mc;
    if (o->resume) {
      mc = modeldir::read_entropy_config((fs::path(o->out) / "params.json").string());
    } else {
      mc.args = lm::parse_lm_args(run.config["entropy_model"], o->config + ": entropy_model");
      mc.patcher = modeldir::resolve_patcher_args({{run.config, o->config}}, mc.patcher);
      if (run.trainer.seq_len == 0) run.trainer.seq_len = mc.args.max_seqlen;
      if (run.trainer.seq_len > mc.args.max_seqlen)
        throw ConfigError("seq_len " + std::to_string(run.trainer.seq_len) + " exceeds the model's max_seqlen " +
                          std::to_string(mc.args.max_seqlen));
    }
    // The model, its gradients, AdamW moments and one micro-batch's activations must fit this machine.
    const modeldir::Workload step{true, run.trainer.batch, run.trainer.seq_len};
    modeldir::check_memory(modeldir::plan_memory(mc.args, DType::F32, step),
                           o->config + " with --batch " + std::to_string(run.trainer.batch));
    const data::Corpus corpus = data::load_corpus(o->data);
    std::unique_ptr<data::Corpus> valid;
    if (!o->valid.empty()) valid = std::make_unique<data::Corpus>(data::load_corpus(o->valid));
    modeldir::EntropyModel model = modeldir::EntropyModel::create(mc.args, mc.patcher, DType::F32, true);
    Rng init(run.trainer.seed);
    model.params->initialize(init);
    if (is_writer())
      std::cerr << "entropy model: " << model.params->numel() << " parameters; " << corpus.size() << " documents, "
              << corpus.bytes.size() << " bytes\n";
    if (!o->resume)  // only now that data and model are known to be good
      save_run(o->out, run.trainer, run.precision, *o, [&] { model.save(o->out); });
    use_precision(*model.params, run.precision);
    data::SequenceStream stream(corpus, run.trainer.seq_len, run.trainer.seed);
    pipeline::EntropyTask task(model, valid.get(), o->valid_bytes);
    train::Trainer trainer(run.trainer, task, stream, o->out);
    run_training(trainer, *o, "train-entropy");
  }};
}

}  // namespace blt::cli
