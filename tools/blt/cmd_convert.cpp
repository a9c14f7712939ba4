// `blt convert --to hf|official SRC DST`: a BLT model directory converted between the official release
// layout and the transformers layout (model_type "blt"), tensors copied as stored.
#include <iostream>

#include "modeldir/hf_convert.h"
#include "tools/blt/commands.h"

namespace blt::cli {

Command add_convert(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert",
                                 "Convert a BLT directory between the official and the Hugging Face layout");
  cmd->footer(
      "The official layout: config.json {\"args\": ...}, model.safetensors, train_args.json, "
      "entropy_model/.\n"
      "The Hugging Face layout (transformers, model_type \"blt\"): config.json with patcher_config, "
      "encoder_config,\n"
      "decoder_config and global_config; one model.safetensors under the transformers names, the hash "
      "n-gram\n"
      "tables fused into model.encoder_hash_tok_embedding.weight, the entropy model under model.patcher.\n"
      "Tensors keep their dtype and bytes. SRC is checked in full before anything is written; DST must not\n"
      "exist or be empty (--force replaces it) and appears only when complete.");
  struct Options {
    std::string to, src, dst;
    bool force = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--to", o->to, "Target layout: hf or official")
      ->required()
      ->check(CLI::IsMember({"hf", "official"}));
  cmd->add_option("src", o->src, "The BLT directory to convert (either layout)")->required();
  cmd->add_option("dst", o->dst, "The directory to write")->required();
  cmd->add_flag("--force", o->force, "Replace a non-empty DST");
  return {cmd, [o] {
            const modeldir::Layout to = o->to == "hf" ? modeldir::Layout::Hf : modeldir::Layout::Official;
            modeldir::convert_model_dir(o->src, o->dst, to, o->force);
            std::cout << "converted " << o->src << " to the "
                      << (to == modeldir::Layout::Hf ? "Hugging Face" : "official") << " layout in " << o->dst
                      << "\n";
          }};
}

}  // namespace blt::cli
