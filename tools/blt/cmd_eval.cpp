// `blt eval`: bits per byte of a BLT on a corpus, with the mean patch size and
// the inference FLOPs per byte (analytic and executed, by component).
#include <filesystem>
#include <iostream>

#include "data/documents.h"
#include "eval/evaluate.h"
#include "eval/flops.h"
#include "io/safetensors.h"
#include "tools/blt/commands.h"
#include "tools/blt/precision_option.h"
#include "tools/blt/progress.h"
#include "tools/blt/validators.h"

namespace blt::cli {

Command add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Bits per byte of a BLT on a corpus");
  cmd->footer(
      "Each document is evaluated alone: x = [BOS] + bytes, y = bytes + [EOS], entropies from the entropy\n"
      "model on x, patches from the model's patcher settings with the next byte included, and\n"
      "BPB = sum NLL(y) / ln 2 / |y|. Documents longer than max_encoder_seq_length tokens are evaluated in\n"
      "consecutive windows of that many tokens, each with fresh context. A window with more patches\n"
      "than the global max_seqlen (next-byte patch included) is evaluated in consecutive pieces: each\n"
      "ends at the window's latest patch start whose prefix, patched alone, has at most max_seqlen\n"
      "patches, and the rest restarts context like a later window; every byte is scored once (the\n"
      "reference cuts its sequences at max_seqlen patches, so it never meets such a window).\n"
      "FLOPs/byte count the entropy model.\n"
      "Memory: the corpus is held as its bytes (1 byte per byte; a JSONL line or .txt file longer than\n"
      "--max-line-bytes is refused), plus the model and one window's activations; the windows are made\n"
      "one at a time, so nothing else grows with the input.");
  struct Opts {
    std::string model;
    std::vector<std::string> files;
    bool json = false;
    int64_t max_bytes = 0, max_line_bytes = data::kDefaultMaxLineBytes;
    std::string trace;
    std::string precision = kDefaultPrecision;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--model", o->model, "BLT model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("files", o->files, "Corpus: .txt, .jsonl (\"text\"), optionally .zst, or folders")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->add_option("--max-bytes", o->max_bytes, "Evaluate at most this many bytes (0: all)")->capture_default_str();
  cmd->add_option("--max-line-bytes", o->max_line_bytes,
                  "Longest JSONL line (or .txt file) accepted, in bytes")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--trace", o->trace,
                  "Write the first window's named activations (embeddings, every layer's output, patch states, "
                  "logits) to this safetensors file");
  add_precision_option(*cmd, o->precision);
  return {cmd, [o] {
    if (!o->trace.empty()) {  // checked before the work, not after
      const std::filesystem::path dir = std::filesystem::absolute(o->trace).parent_path();
      if (!std::filesystem::is_directory(dir)) throw IoError(o->trace + ": folder " + dir.string() + " does not exist");
    }
    const InferencePrecision precision = resolve_inference_precision(o->precision);
    modeldir::BltModel m = load_blt(o->model, precision);
    const data::Corpus corpus = data::load_corpus(o->files, o->max_line_bytes);
    data::EvalWindows windows(corpus, m.args.max_encoder_seq_length);
    patching::RowPatcher patcher(m.patcher, m.entropy_lm(), m.args.eos_id);
    ByteProgress line("eval");
    TraceRecorder tracer;
    const auto r = eval::evaluate(
        m, patcher, windows, o->max_bytes,
        [&](int64_t done, int64_t total) { line.update(static_cast<double>(done), static_cast<double>(total)); },
        o->trace.empty() ? nullptr : &tracer);
    line.finish();
    if (!o->trace.empty()) {
      std::vector<std::pair<std::string, TensorView>> named;
      for (const auto& [name, t] : tracer.tensors()) named.emplace_back(name, t.view());
      io::write_safetensors(o->trace, named, {{"source", "blt eval --trace: first evaluation window"}});
      std::cerr << "trace: " << named.size() << " activations written to " << o->trace << "\n";
    }
    std::optional<lm::LMTransformerArgs> ent;
    if (m.entropy) ent = m.entropy->args;
    const auto analytic = eval::blt_flops(m.args, r.mean_patch_size, m.args.max_encoder_seq_length, ent);
    nlohmann::json j = {{"bpb", r.bpb},
                        {"n_positions", r.n_positions},
                        {"n_patches", r.n_patches},
                        {"mean_patch_size", r.mean_patch_size},
                        {"precision", precision_name(precision.products)},
                        {"weights", weight_storage(*m.params)},
                        {"flops_per_byte", r.flops_total_per_byte()},
                        {"flops_per_byte_analytic", analytic.total()},
                        {"flops_per_byte_by_component", r.flops_per_byte},
                        {"flops_per_byte_analytic_by_component", analytic.per_byte}};
    if (o->json) {
      std::cout << j.dump() << std::endl;
      return;
    }
    std::cout << "bits per byte     " << r.bpb << "  (" << r.n_positions << " bytes)\n"
              << "mean patch size   " << r.mean_patch_size << "  (" << r.n_patches << " patches)\n"
              << "FLOPs per byte    executed " << r.flops_total_per_byte() << ", analytic " << analytic.total() << "\n";
    for (const auto& [k, v] : analytic.per_byte) {
      const auto it = r.flops_per_byte.find(k);
      std::cout << "  " << k << ": executed " << (it == r.flops_per_byte.end() ? 0.0 : it->second) << ", analytic " << v
                << "\n";
    }
  }};
}

}  // namespace blt::cli
