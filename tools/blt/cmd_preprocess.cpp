// `blt preprocess`: computes and caches the entropy model's per-document
// entropies of a corpus, for `blt train --entropy-cache` (see
// entropy/entropy_cache.h: the cache is keyed by data + model).
#include <iostream>

#include "data/documents.h"
#include "pipeline/entropy_cache.h"
#include "tools/blt/commands.h"
#include "tools/blt/progress.h"

namespace blt::cli {

Command add_preprocess(CLI::App& app) {
  auto* cmd = app.add_subcommand("preprocess", "Cache the entropy model's per-document entropies of a corpus");
  cmd->footer("Each document [BOS] + bytes + [EOS] is its own context, cut into chunks of --chunk tokens as the\n"
              "reference's calculate_entropies. Training with --entropy-cache checks the cache's key against the\n"
              "corpus and the entropy model, so a stale cache is refused rather than used.");
  struct Opts {
    std::string model, out;
    std::vector<std::string> data;
    int64_t chunk = 8192, batch = 4;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--entropy-model", o->model, "Entropy model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--data", o->data, "Corpus: .txt, .jsonl, optionally .zst, or folders")->required()->check(CLI::ExistingPath);
  cmd->add_option("--out", o->out, "Cache directory (entropies.f32 + cache.json)")->required();
  cmd->add_option("--chunk", o->chunk, "Tokens per chunk (clamped to the model's max_seqlen)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Chunks per forward pass")->capture_default_str();
  return {cmd, [o] {
    const modeldir::EntropyModel m = modeldir::EntropyModel::load(o->model);
    const data::Corpus corpus = data::load_corpus(o->data);
    const int64_t chunk = std::min(o->chunk, m.args.max_seqlen);
    ByteProgress line("preprocess");
    const auto cache = pipeline::compute_entropy_cache(corpus, m, chunk, o->batch, [&](int64_t done, int64_t total) {
      line.update(static_cast<double>(done), static_cast<double>(total));
    });
    line.finish();
    pipeline::write_entropy_cache(o->out, cache, corpus, chunk);
    std::cerr << "cached " << cache.values.size() << " entropies of " << corpus.size() << " documents in " << o->out
              << " (key " << cache.key << ")\n";
  }};
}

}  // namespace blt::cli
