// `blt train-entropy`: trains the byte-level entropy model and writes it in
// the official entropy model layout (params.json + weights) under --out.
#include <filesystem>
#include <iostream>

#include "data/documents.h"
#include "entropy/entropy_task.h"
#include "io/json_fields.h"
#include "tools/blt/commands.h"
#include "tools/blt/interrupt.h"
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
    fs::create_directories(o->out);
    entropy::EntropyModelConfig mc;
    train::TrainerConfig tc;
    if (o->resume) {
      tc = load_run(o->out, *o);
      mc = entropy::read_entropy_config((fs::path(o->out) / "params.json").string());
    } else {
      if (o->config.empty()) throw ConfigError("--config is required for a new run (e.g. configs/entropy_small.json)");
      if (o->data.empty()) throw ConfigError("--data is required for a new run");
      if (train::latest_checkpoint(o->out))
        throw ConfigError(o->out + " already holds a training run: pass --resume to continue it, or another --out");
      const nlohmann::json cfg = io::read_json_file(o->config);
      io::JsonFields f(cfg, o->config);
      mc.args = entropy::parse_lm_args(f.object("entropy_model"), o->config + ": entropy_model");
      if (f.has("data")) {
        const auto& data = f.object("data");
        if (data.contains("patcher_args"))
          mc.patcher = patcher::parse_patcher_args(data.at("patcher_args"), o->config + ": data.patcher_args");
      }
      const nlohmann::json* train = f.has("train") ? &f.object("train") : nullptr;
      f.finish();
      tc = resolve_trainer_config(*o, train, o->config);
      if (tc.seq_len == 0) tc.seq_len = mc.args.max_seqlen;
      if (tc.seq_len > mc.args.max_seqlen)
        throw ConfigError("seq_len " + std::to_string(tc.seq_len) + " exceeds the model's max_seqlen " +
                          std::to_string(mc.args.max_seqlen));
      save_run(o->out, tc, *o);
    }

    const data::Corpus corpus = data::load_corpus(o->data);
    std::unique_ptr<data::Corpus> valid;
    if (!o->valid.empty()) valid = std::make_unique<data::Corpus>(data::load_corpus(o->valid));
    entropy::EntropyModel model = entropy::EntropyModel::create(mc.args, mc.patcher, DType::F32, true);
    Rng init(static_cast<uint64_t>(tc.seed));
    model.params->initialize(init);
    std::cerr << "entropy model: " << model.params->numel() << " parameters; " << corpus.size() << " documents, "
              << corpus.bytes.size() << " bytes\n";

    data::SequenceStream stream(corpus, tc.seq_len, tc.seed);
    entropy::EntropyTask task(model, valid.get(), o->valid_bytes);
    train::Trainer trainer(tc, task, stream, o->out);
    if (o->resume) {
      if (!trainer.resume()) throw ConfigError(o->out + ": no checkpoint to resume from");
      std::cerr << "resumed at step " << trainer.state().step << "\n";
    } else {
      model.save(o->out);
    }
    TrainProgress progress;
    const auto& stop = install_interrupt_handler();
    const int64_t reached = trainer.run(stop, [&](const train::StepReport& r) { progress(r); });
    progress.finish();
    if (reached < tc.steps) {
      std::cerr << "stopped at step " << reached << "; checkpoint saved. Continue with: blt train-entropy --out "
                << o->out << " --resume\n";
      throw Interrupted();
    }
    std::cerr << "model written to " << o->out << "\n";
  }};
}

}  // namespace blt::cli
