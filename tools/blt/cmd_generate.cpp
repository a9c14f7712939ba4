// `blt generate`: continue prompts byte by byte with a BLT or a byte LM, by
// default through the cached step API (the global model steps once per
// patch); --no-cache runs the reference's recompute-everything algorithm.
// One prompt streams to stdout as it is generated; several print each
// continuation when it is done (or one JSON object per prompt with --json).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "generate/generation.h"
#include "io/file.h"
#include "tools/blt/commands.h"
#include "tools/blt/precision_option.h"
#include "tools/blt/validators.h"

namespace blt::cli {

namespace {
struct GenerateCli {
  std::string model, prompt_file, precision = kDefaultPrecision;
  std::vector<std::string> prompts;
  gen::GenerateOptions opt;
  bool greedy = false, show_patches = false, stats = false, json = false, no_cache = false;
};

// Text with patch starts marked: a colour change per patch on a terminal, '▏' otherwise. `patch` counts
// the patches shown so far, so a patch that spans streamed chunks keeps its colour. A start on a UTF-8
// continuation byte is marked before the next other byte, so a mark never splits a byte sequence (which
// printable() would then show as two replacement characters instead of one).
std::string marked(std::string_view text, std::span<const char> starts, bool colour, int& patch) {
  auto paint = [&] { return patch % 2 ? "\x1b[48;5;254m" : "\x1b[48;5;229m"; };
  std::string out;
  if (colour && patch > 0 && !text.empty() && !starts[0]) out += paint();
  int pending = 0;
  const auto mark = [&] {
    patch += pending;
    pending = 0;
    out += colour ? paint() : "\u258F";
  };
  for (size_t i = 0; i < text.size(); ++i) {
    pending += starts[i] ? 1 : 0;
    if (pending && (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) mark();
    out.push_back(text[i]);
  }
  if (pending) mark();
  return colour ? out + "\x1b[0m" : out;
}

nlohmann::json result_json(const gen::GenerationResult& r) {
  const double n = static_cast<double>(r.text.size());
  return {{"text", r.text},
          {"ids", r.ids},
          {"n_bytes", r.text.size()},
          {"finish", r.finish},
          {"bytes_per_s", r.generate_s > 0 ? n / r.generate_s : 0.0},
          {"prefill_tokens", r.prompt_tokens},
          {"prefill_s", r.prefill_s},
          {"global_steps", r.generated_global_steps},
          {"global_steps_per_byte", n > 0 ? r.generated_global_steps / n : 0.0},
          {"patch_lengths", gen::generated_patch_lengths(r.patch_starts)},
          {"flops_per_byte", n > 0 ? r.flops / n : 0.0},
          {"prompt_cut", r.prompt_cut},
          {"context_cuts", r.context_cuts}};
}

void print_stats(const gen::GenerationResult& r) {
  const double n = static_cast<double>(r.text.size());
  std::cerr << "generated " << r.text.size() << " bytes in " << r.generate_s << " s (" << (r.generate_s > 0 ? n / r.generate_s : 0)
            << " bytes/s; prefill " << r.prompt_tokens << " tokens in " << r.prefill_s << " s), "
            << gen::generated_patch_lengths(r.patch_starts).size() << " patches, " << (n > 0 ? r.generated_global_steps / n : 0)
            << " global steps per byte, " << (n > 0 ? r.flops / n : 0) << " FLOPs per byte (prefill included), finish "
            << r.finish << "\n";
}

void run_generate(GenerateCli& o) {
  if (!o.prompt_file.empty()) {
    std::string line;
    std::istringstream in(io::read_file(o.prompt_file));
    while (std::getline(in, line)) o.prompts.push_back(line);
    if (o.prompts.empty()) throw IoError(o.prompt_file + ": no prompts (one per line)");
  }
  if (o.prompts.empty()) o.prompts.push_back("");  // start from BOS
  if (o.greedy) o.opt.sampler.temperature = 0;
  o.opt.cache = !o.no_cache;
  o.opt.sampler.validate();  // bad sampling options fail before the model loads
  const InferencePrecision precision = resolve_inference_precision(o.precision);
  std::optional<modeldir::BltModel> blt;
  std::optional<modeldir::EntropyModel> lm;
  if (std::filesystem::exists(std::filesystem::path(o.model) / "config.json"))
    blt.emplace(load_blt(o.model, precision));
  else
    lm.emplace(load_entropy_model(o.model, precision));
  const bool stream = o.prompts.size() == 1 && !o.json && o.opt.max_bytes > 0;
  const bool colour = o.show_patches && isatty(STDOUT_FILENO);
  int patch = 0;
  if (stream) std::cout << data::printable(o.prompts[0]) << std::flush;
  auto on_text = [&](int64_t, std::string_view text, std::span<const char> starts) {
    if (!stream) return;
    std::cout << data::printable(o.show_patches ? marked(text, starts, colour, patch) : std::string(text)) << std::flush;
  };
  auto notice = [](const std::string& s) { std::cerr << "note: " << s << "\n"; };
  const auto results = gen::generate(blt ? &*blt : nullptr, lm ? lm->model.get() : nullptr, o.prompts, o.opt,
                                     on_text, notice);
  for (size_t r = 0; r < results.size(); ++r) {
    const auto& res = results[r];
    if (o.json) {
      nlohmann::json j = result_json(res);
      j["prompt"] = o.prompts[r];
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else if (stream) {
      std::cout << "\n";
    } else if (o.opt.max_bytes > 0) {
      int p = 0;
      const std::string text = o.show_patches ? marked(res.text, res.patch_starts, colour, p) : res.text;
      std::cout << data::printable(o.prompts[r]) << data::printable(text) << "\n";
    }
    if (o.stats) print_stats(res);
  }
}
}  // namespace

Command add_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Continue prompts with a trained BLT or byte LM");
  cmd->footer(
      "Prompts are encoded [BOS] + bytes. The cached path keeps every stage's keys/values and runs the global\n"
      "model once per patch; --no-cache re-patches and re-runs the whole context per byte (the reference's\n"
      "definition). When the context is full, the oldest part is dropped on a patch boundary and the rest\n"
      "re-prefilled (said once on stderr): from there the output equals recomputing on the kept window.");
  auto o = std::make_shared<GenerateCli>();
  cmd->add_option("--model", o->model, "A BLT directory (config.json) or a byte LM / entropy model (params.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* p = cmd->add_option("--prompt", o->prompts, "Prompt text (repeat for a batch)");
  cmd->add_option("--prompt-file", o->prompt_file, "Prompts, one per line")->check(CLI::ExistingFile)->excludes(p);
  // Checked here so that the message names the option (the Sampler checks the sampling ones again).
  const CLI::Validator unit = unit_interval(), non_neg = non_negative();
  cmd->add_option("--max-bytes", o->opt.max_bytes, "Bytes to generate per prompt (stops early at EOS)")
      ->capture_default_str()
      ->check(non_neg);
  cmd->add_flag("--greedy", o->greedy, "Take the most likely byte (temperature 0)");
  cmd->add_option("--temperature", o->opt.sampler.temperature, "Sampling temperature (0: greedy)")
      ->capture_default_str()
      ->check(non_neg);
  cmd->add_option("--top-k", o->opt.sampler.top_k, "Sample among the k most likely bytes (0: all)")
      ->capture_default_str()
      ->check(non_neg);
  cmd->add_option("--top-p", o->opt.sampler.top_p, "Nucleus sampling mass, in (0, 1]")
      ->capture_default_str()
      ->check(unit);
  cmd->add_option("--seed", o->opt.sampler.seed, "Sampling seed (prompt r uses seed + r)")->capture_default_str();
  cmd->add_option("--stop", o->opt.stop, "Stop when the text ends with this string (repeatable; not printed)");
  cmd->add_flag("--show-patches", o->show_patches, "Mark patch starts (colour on a terminal, \u258F otherwise)");
  cmd->add_flag("--stats", o->stats, "Print bytes/s, patches, global steps and FLOPs per byte to stderr");
  cmd->add_flag("--json", o->json, "One JSON object per prompt (text, ids, bytes_per_s, global_steps, ...)");
  cmd->add_flag("--no-cache", o->no_cache, "Recompute everything per byte (the reference algorithm)");
  add_precision_option(*cmd, o->precision);
  return {cmd, [o] { run_generate(*o); }};
}

}  // namespace blt::cli
