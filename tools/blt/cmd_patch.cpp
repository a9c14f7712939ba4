// `blt patch`: patches one file (or precomputed entropies) with any patching
// mode and shows the result: the patches as text or one JSON line, then their
// statistics, optionally the paper's patching figure as SVG. A file patched
// with the model's entropies (or none) is streamed in bounded memory, patches
// written as they are decided; --svg, --target-patch-size, --entropies and bpe
// need the whole input and compute everything before writing anything (the
// SVG replaced atomically).
#include <sentencepiece_processor.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "data/tokenizer.h"
#include "lm/entropies.h"
#include "modeldir/entropy_model.h"
#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"
#include "patching/calibrate.h"
#include "patching/entropy_file.h"
#include "patching/patcher.h"
#include "patching/stats.h"
#include "patching/svg_plot.h"
#include "tools/blt/commands.h"
#include "tools/blt/precision_option.h"
#include "tools/blt/patch_options.h"
#include "tools/blt/patch_stream.h"
#include "tools/blt/patch_view.h"

namespace blt::cli {

namespace fs = std::filesystem;

namespace {

struct PatchOpts {
  std::string model, file, entropies, bpe_model, svg, format = "text", color = "auto", precision = kDefaultPrecision;
  PatchFlags flags;
  std::optional<double> target;
  bool include_next_token = false, eos = false, save_threshold = false;
};

std::string fmt(double v, const char* spec = "%.6g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

// The sequence being patched and where it came from (for messages).
struct Sequence {
  std::vector<int32_t> tokens;  // empty when only entropies were given
  int64_t n_positions = 0;
  std::string description;  // e.g. "[BOS] + 79 bytes of a.txt + [EOS]"
};

Sequence read_sequence(const PatchOpts& o, const patching::PatcherArgs& args) {
  Sequence seq;
  const bool bpe = args.patching_mode == patching::PatchingMode::Bpe;
  if (!o.bpe_model.empty() && !bpe) throw ConfigError("--bpe-model applies to --mode bpe only");
  const std::string text = io::read_file(o.file);
  if (text.empty()) throw FormatError(o.file + ": empty file: nothing to patch");
  if (bpe) {
    if (o.bpe_model.empty())
      throw ConfigError(
          "--mode bpe needs --bpe-model SPM.model (a SentencePiece model, e.g. spm_bpe_4096.model)");
    sentencepiece::SentencePieceProcessor sp;
    data::load_sentencepiece(sp, o.bpe_model);
    seq.tokens = data::encode_bpe_delimited(text, sp, true, o.eos);
    seq.description = "[BOS] + the BPE-delimited pieces of " + o.file + (o.eos ? " + [EOS]" : "");
  } else {
    seq.tokens = data::encode(text, true, o.eos);
    seq.description =
        "[BOS] + " + std::to_string(text.size()) + " bytes of " + o.file + (o.eos ? " + [EOS]" : "");
  }
  seq.n_positions = static_cast<int64_t>(seq.tokens.size());
  return seq;
}

// The x-axis characters of the SVG: bytes as themselves, BOS '<', EOS '>' (the reference figure's
// convention), BPE '|', BOE '#', unknown tokens '?'.
std::vector<uint8_t> svg_bytes(const Sequence& seq) {
  std::vector<uint8_t> out(static_cast<size_t>(seq.n_positions), '?');
  for (size_t i = 0; i < seq.tokens.size(); ++i) {
    const int32_t t = seq.tokens[i];
    out[i] = t >= data::kOffset && t < data::kVocabSize ? static_cast<uint8_t>(t - data::kOffset)
             : t == data::kBosId                        ? '<'
             : t == data::kEosId                        ? '>'
             : t == data::kBpeId                        ? '|'
                                                        : '#';
  }
  if (seq.tokens.empty() && !out.empty()) out[0] = '<';  // position 0 is the BOS
  return out;
}

bool use_color(const std::string& when) {
  if (when == "always") return true;
  if (when == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  return ::isatty(1) && !(no_color && *no_color);
}

// Everything `blt patch` computed, before any of it is written.
struct Patched {
  patching::PatcherArgs args;
  Sequence seq;
  std::vector<float> entropies;  // (n_positions) or empty
  std::vector<int32_t> lengths;
  std::optional<patching::Calibration> cal;
  bool include_next_token = false;

  bool entropy_mode() const { return is_entropy_mode(args); }
  // The threshold as an entropy level; NaN for the monotonic rule (a difference) and other modes.
  double level() const {
    return entropy_mode() && !args.monotonicity ? args.threshold : std::numeric_limits<double>::quiet_NaN();
  }
};

// Patcher settings: the model's patcher_args (the reference defaults without a model), then the flags.
patching::PatcherArgs patcher_settings(const PatchOpts& o) {
  if (o.target && !(*o.target > 0 && std::isfinite(*o.target)))
    throw ConfigError("--target-patch-size must be a positive number of bytes, got " + fmt(*o.target));
  patching::PatcherArgs base;
  if (!o.model.empty()) {
    const fs::path params = fs::path(o.model) / "params.json";
    if (!fs::is_directory(o.model)) throw IoError(o.model + ": not a model directory");
    if (!fs::exists(params))
      throw IoError(params.string() + ": not found (an entropy model directory holds params.json)");
    base = modeldir::read_entropy_config(params.string()).patcher;
  }
  patching::PatcherArgs args = resolve_patcher_args(base, o.flags);
  if (o.target && !is_entropy_mode(args))
    throw ConfigError("--target-patch-size calibrates the entropy threshold; it does not apply to --mode " +
                      mode_name(args));
  return args;
}

[[noreturn]] void needs_entropies(const patching::PatcherArgs& args) {
  throw ConfigError(
      "--mode " + mode_name(args) +
      " needs entropies: pass --model DIR or --entropies FILE (or use --mode static, space, byte or bpe)");
}

Patched patch_input(const PatchOpts& o, const patching::PatcherArgs& args, bool color) {
  const bool have_file = !o.file.empty(), have_entropies = !o.entropies.empty();
  Patched p;
  p.args = args;
  p.include_next_token = o.include_next_token;
  const bool entropy_mode = p.entropy_mode();

  // The sequence: [BOS] + the file's bytes (+ [EOS]); or only its length, from --entropies.
  if (have_file)
    p.seq = read_sequence(o, p.args);
  else if (!(have_entropies && entropy_mode))
    throw ConfigError(
        "a FILE to patch is required (only the entropy modes with --entropies can patch without text)");

  // Entropies: given, or from the model when something needs them.
  if (have_entropies) {
    p.entropies = patching::read_entropy_file(o.entropies);
    const auto n = static_cast<int64_t>(p.entropies.size());
    if (!have_file) {
      p.seq.n_positions = n;
      p.seq.description = std::to_string(n) + " positions of " + o.entropies + " (no text)";
    } else if (n != p.seq.n_positions) {
      throw ConfigError(
          o.entropies + " holds " + std::to_string(n) + " entropies but the sequence has " +
          std::to_string(p.seq.n_positions) + " positions (" + p.seq.description +
          "); one entropy per position, position 0 being the BOS" +
          (!o.eos && n == p.seq.n_positions + 1 ? " (pass --eos if the entropies include the EOS)" : ""));
    }
  } else if (!o.model.empty() && (entropy_mode || !o.svg.empty() || color)) {
    modeldir::EntropyModel m = load_entropy_model(o.model, resolve_inference_precision(o.precision));
    lm::EntropyComputer ec(*m.model, {});
    p.entropies = ec.compute(p.seq.tokens);
  } else if (entropy_mode) {
    needs_entropies(p.args);
  }

  if (o.target) {
    const std::vector<std::vector<float>> sample = {p.entropies};
    p.cal = patching::calibrate_threshold(p.args, sample, *o.target, o.include_next_token);
    p.args.threshold = p.cal->threshold;
  }

  // The patcher ignores tokens in entropy mode; without text it only needs their number.
  const std::vector<int32_t> filler(p.seq.tokens.empty() ? static_cast<size_t>(p.seq.n_positions) : 0,
                                    data::kBosId);
  const std::span<const int32_t> tokens =
      p.seq.tokens.empty() ? std::span<const int32_t>(filler) : p.seq.tokens;
  p.lengths = patching::patch_lengths(p.args, tokens, p.entropies, o.include_next_token);
  return p;
}

std::string svg_report(const Patched& p) {
  const std::vector<float> h = p.entropies.empty()
                                   ? std::vector<float>(static_cast<size_t>(p.seq.n_positions),
                                                        std::numeric_limits<float>::quiet_NaN())
                                   : p.entropies;
  if (p.seq.n_positions > 2000)
    io::warn("--svg: " + std::to_string(p.seq.n_positions) +
             " positions make a very wide figure (14 px each); it reads best for a few hundred bytes");
  return patching::patch_svg(svg_bytes(p.seq), h, p.lengths, static_cast<float>(p.level()));
}

// Colours by the entropy that opened each patch, scaled to twice the threshold.
PatchViewOptions view_of(const patching::PatcherArgs& args, bool color) {
  PatchViewOptions view;
  view.color = color;
  const double level = is_entropy_mode(args) && !args.monotonicity ? args.threshold : 0;
  view.color_scale = level > 0 ? 2 * level : 4.0;
  return view;
}

// The whole input in memory: everything is computed, the SVG written, then the report.
void run_whole(const PatchOpts& o, const patching::PatcherArgs& args, bool color) {
  const Patched p = patch_input(o, args, color);
  const std::string svg = o.svg.empty() ? "" : svg_report(p);
  if (p.cal && p.cal->clamped)
    io::warn("--target-patch-size " + fmt(p.cal->target_mean) +
             " is out of reach on this input; the nearest reachable mean is " +
             fmt(p.cal->achieved_mean, "%.4f"));
  if (!o.svg.empty()) io::write_file_atomic(o.svg, svg);
  if (o.save_threshold) {
    // The calibrated threshold becomes the model's own: params.json data.patcher_args.threshold.
    const std::string path = (fs::path(o.model) / "params.json").string();
    nlohmann::json params = io::read_json_file(path);
    params["data"]["patcher_args"]["threshold"] = p.cal->threshold;
    io::write_file_atomic(path, params.dump(2) + "\n");
    io::warn("saved threshold " + fmt(p.cal->threshold, "%.9g") + " in " + path);
  }
  PatchSink sink(o.format, {p.args, p.include_next_token, p.seq.description, p.cal, !p.seq.tokens.empty()},
                 view_of(p.args, color && !p.entropies.empty()));
  sink.write(p.seq.tokens, p.lengths, p.entropies, std::numeric_limits<float>::quiet_NaN());
  sink.finish();
}

// A file patched with the model's entropies (or none): streamed, patches written as they are decided.
void run_streamed(const PatchOpts& o, const patching::PatcherArgs& args, bool color) {
  const bool entropy_mode = is_entropy_mode(args);
  if (o.model.empty() && entropy_mode) needs_entropies(args);
  if (!o.bpe_model.empty()) throw ConfigError("--bpe-model applies to --mode bpe only");
  const auto size = static_cast<int64_t>(fs::file_size(o.file));
  if (size == 0) throw FormatError(o.file + ": empty file: nothing to patch");
  std::optional<modeldir::EntropyModel> m;
  if (!o.model.empty() && (entropy_mode || color))
    m.emplace(load_entropy_model(o.model, resolve_inference_precision(o.precision)));
  const std::string description =
      "[BOS] + " + std::to_string(size) + " bytes of " + o.file + (o.eos ? " + [EOS]" : "");
  PatchSink sink(o.format, {args, o.include_next_token, description, std::nullopt, true},
                 view_of(args, color && m));
  stream_patches(o.file, o.eos, m ? m->model.get() : nullptr, args, o.include_next_token, sink);
  sink.finish();
}

void run_patch(const PatchOpts& o) {
  const bool color = o.format == "text" && use_color(o.color);
  const patching::PatcherArgs args = patcher_settings(o);
  const bool whole = !o.svg.empty() || o.target || !o.entropies.empty() || o.file.empty() ||
                     args.patching_mode == patching::PatchingMode::Bpe;
  if (whole)
    run_whole(o, args, color);
  else
    run_streamed(o, args, color);
}

}  // namespace

Command add_patch(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "patch", "Patch a file and show the patches, their statistics and the entropy figure");
  cmd->footer(
      "The sequence patched is [BOS] + the file's bytes (+ [EOS] with --eos). Entropies come from\n"
      "--model or --entropies, one per position: position i holds the entropy H[i] of the prediction\n"
      "of token i+1. Token i+1 starts a patch when H[i] > threshold (entropy), H[i]-H[i-1] > threshold\n"
      "(monotonic), or both H[i] > threshold and H[i]-H[i-1] > --threshold-add; positions 0 (BOS) and\n"
      "1 always start one. Settings default to the model's params.json data.patcher_args, else the\n"
      "reference's (entropy, threshold 1.335442066192627); flags override them. Patches cover exactly\n"
      "the given positions unless --include-next-token adds the unseen next token (as the BLT forward\n"
      "and generation do).\n"
      "Text output: the settings, the patches separated by '▏', special ids as ⟨BOS⟩, controls\n"
      "and '\\' escaped, a character cut by a boundary as \\xNN, invalid UTF-8 as U+FFFD. Colours (on\n"
      "a terminal) show the entropy that opened each patch, green (low) to red (twice the threshold);\n"
      "then the statistics.\n"
      "--format jsonl: one line {\"patch_lengths\", \"mean_patch_size\", \"n_patches\",\n"
      "\"n_positions\", \"threshold\", \"mode\", ..., \"patches\" (each patch's text, specials dropped)}.\n"
      "Memory: a file is streamed (64 KiB reads, patches written as they are decided, progress on stderr):\n"
      "peak RSS < 150 MB + the entropy model, whatever the file's size (measured: ~11 MB without a model,\n"
      "~27 MB with a tiny one), as long as no single patch is huge (the open patch is held: ~30 bytes per\n"
      "byte; --max-patch-length bounds it). --svg, --target-patch-size, --entropies and --mode bpe need the\n"
      "whole input and hold it (~20 bytes per byte).");
  auto o = std::make_shared<PatchOpts>();
  cmd->add_option("file", o->file, "Input file (any bytes); optional with --entropies in the entropy modes");
  cmd->add_option("--model", o->model,
                  "Entropy model directory (params.json + weights): entropies and default settings");
  cmd->add_option(
         "--mode", o->flags.mode,
         "entropy: global threshold; monotonic: entropy increase; static: fixed --patch-size; space: "
         "after runs of non-alphanumeric bytes; byte: one byte each; bpe: one per BPE piece (--bpe-model). "
         "Default: the model's patching_mode, else entropy")
      ->check(CLI::IsMember({"entropy", "monotonic", "static", "space", "byte", "bpe"}));
  auto* threshold = cmd->add_option(
      "--threshold", o->flags.threshold,
      "Entropy threshold in nats, a non-negative number (relative with --mode monotonic). Default: the "
      "model's threshold, else 1.335442066192627");
  cmd->add_option("--threshold-add", o->flags.threshold_add,
                  "Entropy mode: also require an increase H[i]-H[i-1] above this (global + monotonic)");
  cmd->add_option("--target-patch-size", o->target,
                  "Calibrate the threshold on this input's entropies for this mean patch size (bytes); "
                  "prints the threshold found and the mean achieved")
      ->excludes(threshold);
  cmd->add_flag("--save-threshold", o->save_threshold,
                "With --target-patch-size: store the calibrated threshold in --model's params.json "
                "(data.patcher_args.threshold), so the model patches at that mean size from now on");
  cmd->add_option("--max-patch-length", o->flags.max_patch_length,
                  "Split longer patches (as the reference's max_patch_length); 0: no limit");
  cmd->add_option("--patch-size", o->flags.patch_size,
                  "Static mode's patch length (default: the model's patch_size when whole, else 4)");
  cmd->add_option(
      "--entropies", o->entropies,
      "Precomputed entropies instead of a model: a JSON array of numbers, .jsonl lines {\"pos\",\"entropy\"} "
      "or .f32 little-endian float32 (what `blt entropy` writes), one per position");
  cmd->add_flag("--include-next-token", o->include_next_token,
                "Patch the next, unseen token too (lengths sum to positions + 1)");
  cmd->add_flag("--eos", o->eos, "Append EOS to the sequence (as `blt entropy --eos`)");
  cmd->add_option("--bpe-model", o->bpe_model,
                  "SentencePiece model for --mode bpe (e.g. spm_bpe_4096.model)");
  cmd->add_option("--format", o->format, "text: statistics and the patches; jsonl: one JSON line")
      ->check(CLI::IsMember({"text", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("--color", o->color,
                  "Colour the text patches by entropy: auto (on a terminal, unless NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  add_precision_option(*cmd, o->precision);
  cmd->add_option(
      "--svg", o->svg,
      "Write the patching figure (entropy per byte, the threshold, a mark at each patch start) to this "
      "SVG file; best for a few hundred bytes");
  return {cmd, [o] {
    if (o->save_threshold && (!o->target || o->model.empty()))
      throw ConfigError("--save-threshold needs --target-patch-size and --model");
    run_patch(*o);
  }};
}

}  // namespace blt::cli
