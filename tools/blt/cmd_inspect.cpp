// `blt inspect`: a model directory's configuration, parameter counts per
// component, and a check of every weight tensor's name and shape against the
// configuration (safetensors: headers only; .pth: the state dict is read), and
// how a command run with the given --precision would hold the weights, with the
// memory it plans for them. Nothing is allocated: the registries are declared only.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include "modeldir/blt_model.h"
#include "modeldir/entropy_model.h"
#include "modeldir/hf_weights.h"
#include "modeldir/memory_plan.h"
#include "modeldir/weights.h"
#include "tools/blt/commands.h"
#include "tools/blt/precision_option.h"

namespace blt::cli {

namespace fs = std::filesystem;

namespace {
// Parameter counts grouped by the first component of their names.
void print_counts(const nn::ParamRegistry& reg, const std::string& indent) {
  std::map<std::string, int64_t> by;
  int64_t total = 0;
  for (const auto& p : reg.params()) {
    by[p.name.substr(0, p.name.find('.'))] += p.shape.numel();
    total += p.shape.numel();
  }
  for (const auto& [k, n] : by) std::cout << indent << std::left << std::setw(30) << k << n << "\n";
  std::cout << indent << std::left << std::setw(30) << "total" << total << "\n";
}

// Checks the weights of a registry against `dir`'s weight file.
void check_weights(const nn::ParamRegistry& reg, const fs::path& dir) {
  const modeldir::WeightFile w = modeldir::find_weights(dir.string());
  modeldir::check_weights(reg, w);
  std::cout << "  weights: " << w.path << ": all " << reg.params().size() << " tensors match the configuration\n";
}

// How a command at --precision `value` (resolved to p) would hold the weights of `file` (load_blt /
// load_entropy_model) and the memory plan of args for it: "  storage (--precision bf16): bf16 as stored
// (mmapped); memory planned: 1.2 GiB".
template <class Args>
void print_storage(const Args& args, const io::SafetensorsFile* file, const std::string& value,
                   InferencePrecision p) {
  const bool mapped = p.as_stored && file && modeldir::matrices_bf16(*file);
  std::cout << "  storage (--precision " << value << "): " << weight_storage(mapped, p.products)
            << "; memory planned: "
            << modeldir::format_bytes(modeldir::plan_memory(args, DType::F32, {.as_stored = mapped}).total())
            << (mapped ? " (hash tables file-backed)" : "") << "\n";
}

// The transformers layout: one model.safetensors holds the BLT and its patcher (the entropy model).
void check_hf_weights(const modeldir::BltConfig& c, const nn::ParamRegistry& blt, const fs::path& dir) {
  std::optional<modeldir::EntropyModel> patcher;
  if (c.hf_patcher) patcher = modeldir::EntropyModel::declare(*c.hf_patcher, c.patcher);
  const auto file = io::SafetensorsFile::open((dir / "model.safetensors").string());
  const auto bound = modeldir::bind_hf_weights(file, &blt, patcher ? patcher->params.get() : nullptr);
  std::cout << "  weights: " << file.path() << ": all " << bound.size()
            << " tensors match the configuration (transformers layout"
            << (patcher ? ", patcher included" : "") << ")\n";
}

void inspect_entropy(const fs::path& dir, const std::string& value, InferencePrecision p) {
  const auto c = modeldir::read_entropy_config((dir / "params.json").string());
  const modeldir::WeightFile w = modeldir::find_weights(dir.string());
  // A .pth is checked by reading it into the registry; a safetensors header needs no memory.
  auto m = w.pth ? modeldir::EntropyModel::create(c.args, c.patcher) : modeldir::EntropyModel::declare(c.args, c.patcher);
  std::cout << "entropy model " << dir.string() << "\n  config: " << lm::to_json(c.args).dump() << "\n"
            << "  patcher_args: " << patching::to_json(c.patcher).dump() << "\n  parameters:\n";
  print_counts(*m.params, "    ");
  check_weights(*m.params, dir);
  std::optional<io::SafetensorsFile> file;
  if (!w.pth) file = io::SafetensorsFile::open(w.path);
  print_storage(c.args, file ? &*file : nullptr, value, p);
}
}  // namespace

Command add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Show a model directory's configuration and check its weights");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("dir", *dir, "A BLT directory (config.json) or an entropy model directory (params.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto precision = std::make_shared<std::string>(kDefaultPrecision);
  add_precision_option(*cmd, *precision);
  return {cmd, [dir, precision] {
    const fs::path d(*dir);
    const InferencePrecision p = resolve_inference_precision(*precision);
    if (fs::exists(d / "config.json")) {
      const modeldir::BltConfig c = modeldir::read_blt_config(*dir);
      auto m = modeldir::BltModel::declare(c.args, c.patcher);
      std::cout << "BLT " << *dir << "\n  config: " << model::to_json(c.args).dump() << "\n"
                << "  patcher_args: " << patching::to_json(c.patcher).dump() << "\n  parameters:\n";
      print_counts(*m.params, "    ");
      if (c.hf_layout) {
        check_hf_weights(c, *m.params, d);
      } else {
        check_weights(*m.params, d);
      }
      const auto file = io::SafetensorsFile::open((d / "model.safetensors").string());
      print_storage(c.args, &file, *precision, p);
      if (!c.hf_layout && fs::is_directory(d / "entropy_model"))
        inspect_entropy(d / "entropy_model", *precision, p);
    } else if (fs::exists(d / "params.json")) {
      inspect_entropy(d, *precision, p);
    } else {
      throw IoError(*dir + ": neither config.json (BLT) nor params.json (entropy model) found");
    }
  }};
}

}  // namespace blt::cli
