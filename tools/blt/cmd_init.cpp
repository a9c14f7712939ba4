// `blt init --config FILE [--entropy-config FILE] --out DIR`: a randomly initialised BLT model directory in
// the official release layout (config.json, train_args.json, model.safetensors, entropy_model/), e.g. a
// blt-1b-shaped model for memory and bandwidth figures (scripts/make_blt1b_random.sh). Every parameter is
// drawn as the reference initialises it (its nn::Init: ones, zeros or a truncated normal) and streamed into
// the safetensors file chunk by chunk in the stored dtype (bf16 or f32): no copy of the whole model is ever
// held, so a 4.5B-parameter model writes on a machine with less memory than its float32 size. Chunk c of
// parameter p draws from Rng(seed, p, c), so the output depends on the seed alone, not on the thread count.
// The directory is written under a temporary name and renamed when complete; an existing DIR is refused.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "blas/gemm_bf16.h"
#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "io/safetensors.h"
#include "modeldir/blt_model.h"
#include "modeldir/patcher_settings.h"
#include "tools/blt/commands.h"
#include "tools/blt/progress.h"

namespace blt::cli {

namespace {

namespace fs = std::filesystem;
constexpr int64_t kChunk = int64_t{1} << 20;  // elements drawn per RNG stream

// Parameter p's chunk c (n values, float32) drawn from its own stream.
void draw_chunk(const nn::ParamInfo& p, uint64_t seed, size_t index, int64_t c, std::span<float> out) {
  Rng rng(seed ^ (0x9E3779B97F4A7C15ull * (index + 1)) ^ (0xC2B2AE3D27D4EB4Full * static_cast<uint64_t>(c + 1)));
  for (float& v : out) {
    switch (p.init.kind) {
      case nn::Init::Kind::Ones: v = 1.0f; break;
      case nn::Init::Kind::Zeros: v = 0.0f; break;
      case nn::Init::Kind::TruncNormal: v = static_cast<float>(rng.truncated_normal(p.init.std, p.init.lo, p.init.hi));
    }
  }
}

// The safetensors header of the registry's parameters in declaration order, padded to 8 bytes.
std::string header_of(const nn::ParamRegistry& reg, DType dtype) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  h["__metadata__"] = {{"format", "pt"}};
  size_t offset = 0;
  for (const auto& p : reg.params()) {
    const size_t bytes = static_cast<size_t>(p.shape.numel()) * dtype_size(dtype);
    std::vector<int64_t> shape;
    for (int d = 0; d < p.shape.rank(); ++d) shape.push_back(p.shape[d]);
    h[p.name] = {{"dtype", io::safetensors_dtype(dtype)},
                 {"shape", shape},
                 {"data_offsets", std::vector<size_t>{offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

// Streams every parameter of reg, initialised, into path (atomically): one chunk of every worker at a time.
void write_random(const nn::ParamRegistry& reg, DType dtype, uint64_t seed, const std::string& path,
                  ByteProgress& progress, double& done, double total) {
  io::AtomicFile out(path);
  const std::string header = header_of(reg, dtype);
  const uint64_t n = header.size();
  out.write(&n, sizeof n);
  out.write(header);
  const int64_t batch = 8;  // chunks drawn in parallel, then written in order
  std::vector<float> values(static_cast<size_t>(batch * kChunk));
  std::vector<bf16> halves(dtype == DType::BF16 ? values.size() : 0);
  for (size_t i = 0; i < reg.params().size(); ++i) {
    const nn::ParamInfo& p = reg.params()[i];
    const int64_t numel = p.shape.numel(), n_chunks = (numel + kChunk - 1) / kChunk;
    for (int64_t c0 = 0; c0 < n_chunks; c0 += batch) {
      const int64_t c1 = std::min(n_chunks, c0 + batch);
      const int64_t len = std::min(numel, c1 * kChunk) - c0 * kChunk;
#pragma omp parallel for schedule(dynamic, 1)
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t begin = c * kChunk, end = std::min(numel, begin + kChunk);
        draw_chunk(p, seed, i, c, std::span(values.data() + (begin - c0 * kChunk), static_cast<size_t>(end - begin)));
      }
      if (dtype == DType::BF16) {
        blas::to_bf16(values.data(), halves.data(), len);
        out.write(halves.data(), static_cast<size_t>(len) * 2);
      } else {
        out.write(values.data(), static_cast<size_t>(len) * 4);
      }
      done += static_cast<double>(len) * static_cast<double>(dtype_size(dtype));
      progress.update(done, total);
    }
  }
  out.commit();
}

struct Options {
  std::string config, entropy_config, out, dtype = "bf16";
  uint64_t seed = 0;
};

// Validates everything, then writes the directory under a temporary name and renames it to o.out.
void run_init(const Options& o) {
  if (fs::exists(o.out)) throw IoError(o.out + ": exists (blt init never overwrites; remove it or pick another --out)");
  const nlohmann::json cfg = io::read_json_file(o.config);
  io::JsonFields f(cfg, o.config);
  const model::BltArgs args = model::parse_blt_args(f.object("args"), o.config + ": args");
  f.finish();
  patching::PatcherArgs patcher = modeldir::patcher_from_args(args);
  std::optional<modeldir::EntropyModelConfig> ent;
  if (!o.entropy_config.empty()) {
    ent = modeldir::read_entropy_config(o.entropy_config);
    patcher = ent->patcher;
  }
  if (patcher.patching_mode == patching::PatchingMode::Entropy && !ent)
    throw ConfigError(o.config + ": entropy patching needs the entropy model: pass --entropy-config params.json");
  const DType dtype = o.dtype == "bf16" ? DType::BF16 : DType::F32;
  const modeldir::BltModel m = modeldir::BltModel::declare(args, patcher);
  std::optional<modeldir::EntropyModel> e;
  if (ent) e = modeldir::EntropyModel::declare(ent->args, patcher);
  const double total = static_cast<double>(m.params->numel() + (e ? e->params->numel() : 0)) *
                       static_cast<double>(dtype_size(dtype));
  const fs::path out = fs::absolute(o.out).lexically_normal();
  const fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".tmp-" + std::to_string(getpid()));
  fs::create_directories(e ? tmp / "entropy_model" : tmp);
  try {
    io::write_file_atomic((tmp / "config.json").string(), modeldir::blt_config_text(args));
    io::write_file_atomic((tmp / "train_args.json").string(), modeldir::train_args_text(patcher));
    ByteProgress progress("init");
    double done = 0;
    write_random(*m.params, dtype, o.seed, (tmp / "model.safetensors").string(), progress, done, total);
    if (e) {
      io::write_file_atomic((tmp / "entropy_model" / "params.json").string(),
                            modeldir::entropy_config_json(e->args, patcher).dump(2) + "\n");
      write_random(*e->params, dtype, o.seed + 1, (tmp / "entropy_model" / "model.safetensors").string(), progress,
                   done, total);
    }
    progress.finish();
    fs::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  std::cout << "wrote " << o.out << ": " << format_bytes(total) << " of " << o.dtype << " weights, seed " << o.seed
            << "\n";
}

}  // namespace

Command add_init(CLI::App& app) {
  auto* cmd = app.add_subcommand("init", "Write a randomly initialised BLT model directory (official layout)");
  cmd->footer(
      "CONFIG is a BLT config.json ({\"args\": ...}); ENTROPY_CONFIG an entropy model's params.json (needed for\n"
      "entropy patching; its data.patcher_args are the patcher settings). Weights are drawn as the reference\n"
      "initialises them and streamed to disk in the chosen dtype; DIR must not exist and appears when complete.");
  auto o = std::make_shared<Options>();
  cmd->add_option("--config", o->config, "The BLT config.json")->required();
  cmd->add_option("--entropy-config", o->entropy_config, "The entropy model's params.json");
  cmd->add_option("--out", o->out, "The directory to create")->required();
  cmd->add_option("--dtype", o->dtype, "Stored dtype: bf16 or f32 (default bf16)")
      ->check(CLI::IsMember({"bf16", "f32"}));
  cmd->add_option("--seed", o->seed, "Random seed (default 0)");
  return {cmd, [o] { run_init(*o); }};
}

}  // namespace blt::cli
