// `blt entropy`: per-position next-byte entropies of a file under an entropy
// model, streamed in bounded memory, as float32 binary or JSON Lines.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "data/tokenizer.h"
#include "lm/entropies.h"
#include "modeldir/entropy_model.h"
#include "io/atomic_file.h"
#include "tools/blt/commands.h"
#include "tools/blt/precision_option.h"
#include "tools/blt/validators.h"
#include "tools/blt/progress.h"

namespace blt::cli {

namespace fs = std::filesystem;

namespace {
// Where the output goes: an atomically replaced file, or stdout.
class Output {
 public:
  explicit Output(const std::string& path) {
    if (!path.empty()) file_ = std::make_unique<io::AtomicFile>(path);
  }
  void write(const void* p, size_t n) {
    if (file_)
      file_->write(p, n);
    else if (std::fwrite(p, 1, n, stdout) != n)
      throw IoError("stdout: write failed");
  }
  void commit() {
    if (file_)
      file_->commit();
    else
      std::fflush(stdout);
  }

 private:
  std::unique_ptr<io::AtomicFile> file_;
};
}  // namespace

Command add_entropy(CLI::App& app) {
  auto* cmd = app.add_subcommand("entropy", "Per-position next-byte entropies (nats) of a file");
  cmd->footer(
      "The sequence is [BOS] + the file's bytes (+ [EOS] with --eos); position i holds the entropy of the\n"
      "model's prediction of token i+1. As the reference's calculate_entropies, the sequence is cut into\n"
      "chunks of --chunk tokens (default: min(8192, the model's max_seqlen)), each with fresh context.\n"
      "Memory: streamed (64 KiB reads, entropies written per batch): peak RSS < 150 MB + the model and its\n"
      "activations for --batch x --chunk tokens, whatever the file's size (a tiny model: ~22 MB).");
  struct Opts {
    std::string model, file, out, format = "f32", precision = kDefaultPrecision;
    int64_t chunk = 8192, batch = 4;
    bool eos = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--model", o->model, "Entropy model directory (params.json + weights)")->required();
  cmd->add_option("file", o->file, "Input file (any bytes)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", o->out, "Output file (default: stdout)");
  cmd->add_option("--format", o->format, "f32: little-endian float32 per position; jsonl: one object per position")
      ->check(CLI::IsMember({"f32", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("--chunk", o->chunk, "Tokens per chunk")->check(positive())->capture_default_str();
  cmd->add_option("--batch", o->batch, "Chunks per forward pass")->check(positive())->capture_default_str();
  cmd->add_flag("--eos", o->eos, "Append EOS to the sequence");
  add_precision_option(*cmd, o->precision);
  return {cmd, [o] {
    if (o->out.empty() && o->format == "f32" && ::isatty(1))
      throw ConfigError("refusing to write binary float32 to a terminal: pass -o FILE or --format jsonl");
    const InferencePrecision precision = resolve_inference_precision(o->precision);
    modeldir::EntropyModel m = load_entropy_model(o->model, precision);
    lm::EntropyComputer ec(*m.model, {o->chunk, o->batch});
    std::ifstream in(o->file, std::ios::binary);
    if (!in) throw IoError(o->file + ": cannot open for reading");
    const double total = static_cast<double>(fs::file_size(o->file)) + 1 + o->eos;
    Output out(o->out);
    std::vector<int32_t> toks;
    int64_t pos = 0;  // positions written so far
    ByteProgress progress("entropy");
    auto emit = [&](std::span<const float> h) {
      if (o->format == "f32") {
        out.write(h.data(), h.size() * sizeof(float));  // little-endian on every supported host
        pos += static_cast<int64_t>(h.size());
      } else {
        char buf[96];
        for (float v : h) {
          const int n = std::snprintf(buf, sizeof buf, "{\"pos\":%lld,\"entropy\":%.9g}\n", static_cast<long long>(pos++), v);
          out.write(buf, static_cast<size_t>(n));
        }
      }
      progress.update(static_cast<double>(pos), total);
    };
    toks.push_back(data::kBosId);
    std::vector<char> buf(1 << 16);  // 64 KiB per read: with the tokens, ~0.4 MB of buffers
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
      for (std::streamsize i = 0; i < in.gcount(); ++i) toks.push_back(data::byte_to_id(static_cast<unsigned char>(buf[i])));
      ec.push(toks, emit);
      toks.clear();
    }
    if (in.bad()) throw IoError(o->file + ": read error");
    if (o->eos) toks.push_back(data::kEosId);
    ec.push(toks, emit);
    ec.finish(emit);
    progress.finish();
    out.commit();
  }};
}

}  // namespace blt::cli
