// `blt preprocess`: computes and caches the entropy model's per-document
// entropies of a corpus, for `blt train --entropy-cache` (see
// pipeline/entropy_cache.h: the cache is keyed by data + model). The
// entropies are written as computed; Ctrl-C stops with exit code 130 and
// leaves any previous cache as it was.
#include <iostream>

#include "data/documents.h"
#include "pipeline/entropy_cache.h"
#include "tools/blt/commands.h"
#include "tools/blt/interrupt.h"
#include "tools/blt/progress.h"
#include "tools/blt/validators.h"

namespace blt::cli {

Command add_preprocess(CLI::App& app) {
  auto* cmd = app.add_subcommand("preprocess", "Cache the entropy model's per-document entropies of a corpus");
  cmd->footer("Each document [BOS] + bytes + [EOS] is its own context, cut into chunks of --chunk tokens as the\n"
              "reference's calculate_entropies. Training with --entropy-cache checks the cache's key against the\n"
              "corpus and the entropy model, so a stale cache is refused rather than used.\n"
              "Memory: the corpus bytes (1 byte per byte, hashed for the key; a JSONL line or .txt file longer\n"
              "than --max-line-bytes is refused), the model and one batch of --batch x --chunk tokens: the\n"
              "entropies are written as they are computed, and the files renamed into place once complete.");
  struct Opts {
    std::string model, out;
    std::vector<std::string> data;
    int64_t chunk = pipeline::kCacheChunk, batch = pipeline::kCacheBatch;
    int64_t max_line_bytes = data::kDefaultMaxLineBytes;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--entropy-model", o->model, "Entropy model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--data", o->data, "Corpus: .txt, .jsonl, optionally .zst, or folders")->required()->check(CLI::ExistingPath);
  cmd->add_option("--out", o->out, "Cache directory (entropies.f32 + cache.json)")->required();
  cmd->add_option("--chunk", o->chunk, "Tokens per chunk (clamped to the model's max_seqlen)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Chunks per forward pass")->capture_default_str();
  cmd->add_option("--max-line-bytes", o->max_line_bytes,
                  "Longest JSONL line (or .txt file) accepted, in bytes")
      ->check(positive())
      ->capture_default_str();
  return {cmd, [o] {
            const modeldir::EntropyModel m = modeldir::EntropyModel::load(o->model);
            const data::Corpus corpus = data::load_corpus(o->data, o->max_line_bytes);
            const int64_t chunk = pipeline::cache_chunk(m, o->chunk);
            ByteProgress line("preprocess");
            const auto& stop =
                install_interrupt_handler();  // Ctrl-C: the temporary files are removed, the cache kept
            const std::string key = pipeline::preprocess_entropy_cache(
                o->out, corpus, m, chunk, o->batch, [&](int64_t done, int64_t total) {
                  line.update(static_cast<double>(done), static_cast<double>(total));
                  if (!stop) return;
                  line.finish();
                  std::cerr << "interrupted: " << o->out << " not written\n";
                  throw Interrupted();
                });
            line.finish();
            std::cerr << "cached " << corpus.bytes.size() + 2 * corpus.size() << " entropies of "
                      << corpus.size() << " documents in " << o->out << " (key " << key << ")\n";
          }};
}

}  // namespace blt::cli
