// `blt generate`: continue a prompt byte by byte with a trained model.
#include <iostream>

#include "data/tokenizer.h"
#include "modeldir/entropy_model.h"
#include <filesystem>

#include "generate/blt_generate.h"
#include "generate/lm_generate.h"
#include "io/file.h"
#include "tools/blt/commands.h"

namespace blt::cli {

Command add_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Continue a prompt with a trained byte-level model");
  struct Opts {
    std::string model, prompt, prompt_file;
    int64_t max_bytes = 200;
    gen::SamplerOptions sampler;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--model", o->model, "A BLT directory (config.json) or a byte LM / entropy model (params.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* p = cmd->add_option("--prompt", o->prompt, "Prompt text");
  cmd->add_option("--prompt-file", o->prompt_file, "Read the prompt from a file")->check(CLI::ExistingFile)->excludes(p);
  cmd->add_option("--max-bytes", o->max_bytes, "Bytes to generate (stops early at EOS)")->capture_default_str();
  cmd->add_option("--temperature", o->sampler.temperature, "Sampling temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--seed", o->sampler.seed, "Sampling seed")->capture_default_str();
  return {cmd, [o] {
    const std::string prompt = o->prompt_file.empty() ? o->prompt : io::read_file(o->prompt_file);
    gen::Sampler sampler(o->sampler);
    std::cout << data::printable(prompt) << std::flush;
    // Bytes are printed as they come; invalid UTF-8 is shown as U+FFFD only at the end of a sequence.
    std::string pending;
    auto show = [&](unsigned char b) {
      pending.push_back(static_cast<char>(b));
      if (data::is_valid_utf8(pending)) {
        std::cout << pending << std::flush;
        pending.clear();
      } else if (pending.size() >= 4) {
        std::cout << data::printable(pending) << std::flush;
        pending.clear();
      }
    };
    if (std::filesystem::exists(std::filesystem::path(o->model) / "config.json")) {
      const modeldir::BltModel m = modeldir::BltModel::load(o->model);
      gen::generate_blt(m, prompt, o->max_bytes, sampler, show);
    } else {
      const modeldir::EntropyModel m = modeldir::EntropyModel::load(o->model);
      gen::generate_lm(*m.model, prompt, o->max_bytes, sampler, show);
    }
    std::cout << data::printable(pending) << "\n";
  }};
}

}  // namespace blt::cli
