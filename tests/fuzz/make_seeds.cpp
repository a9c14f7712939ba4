// Writes the seed corpora of the fuzz targets into OUT/<target>/, made from the
// repository's fixtures (tests/golden, configs, models) and from tiny models
// (width 8) saved by the library itself; inputs of several files are joined with
// fuzz::kSeparator after the target's mode byte, as the targets split them.
// Usage: make_seeds SOURCE_DIR OUT_DIR (scripts/fuzz.sh; the small seeds committed
// under tests/fuzz/seeds/ for the ctest replay are a copy of its output).
#include <zstd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "io/file.h"
#include "io/zip_reader.h"
#include "modeldir/blt_model.h"
#include "modeldir/entropy_model.h"
#include "pipeline/entropy_cache.h"
#include "tiny_fuzz_models.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace {

using namespace blt;
namespace fs = std::filesystem;

fs::path g_out;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary) << bytes;
}

// The files of `dir`, in `names` order, joined into one input after `prefix` (a target's mode byte).
std::string joined(const std::string& prefix, const fs::path& dir, const std::vector<std::string>& names) {
  std::string input = prefix;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) input += fuzz::kSeparator;
    if (fs::exists(dir / names[i])) input += io::read_file((dir / names[i]).string());
  }
  return input;
}

std::vector<fs::path> files_in(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Configs: whole JSON files, the objects inside them the targets read alone, and BLT directories.
void config_seeds(const fs::path& src) {
  std::vector<fs::path> jsons = files_in(src / "configs", ".json");
  for (const fs::path& d : {src / "models/entropy-kjv", src / "tests/golden/official_layout",
                            src / "tests/golden/official_layout/entropy_model", src / "tests/golden/oracle/tiny_entropy"})
    for (const fs::path& p : files_in(d, ".json"))
      if (fs::file_size(p) < 4000) jsons.push_back(p);  // configs, not expected outputs
  int n = 0;
  for (const fs::path& p : jsons) {
    const std::string name = std::to_string(n++) + "_" + p.filename().string();
    const nlohmann::json j = io::read_json_file(p.string());
    seed("json", name, j.dump());
    if (j.contains("entropy_model")) seed("entropy_config", name, j.dump());
    if (j.contains("data") && j["data"].contains("patcher_args"))
      seed("patcher_args", name, j["data"]["patcher_args"].dump());
    if (j.contains("train")) seed("trainer_config", name, j["train"].dump());
  }
  seed("blt_config", "official_layout",
       joined("", src / "tests/golden/official_layout", {"config.json", "entropy_model/params.json", "train_args.json"}));
  seed("blt_config", "tiny_blt", joined("", src / "tests/golden/oracle/tiny_blt", {"config.json"}));
  seed("trainer_config", "defaults", train::to_json(train::TrainerConfig{}).dump());
  train::TrainState s;
  s.step = 17;
  s.data = {1, 2, 3};
  s.rng = {1, 2, 3, 4};
  s.tokens_seen = 4096;
  s.seconds = 1.5;
  s.flops = 1e12;
  seed("train_state", "state", train::to_json(s).dump());
}

// Archives and pickles: the .pth fixtures whole, and their data.pkl alone.
void pth_seeds(const fs::path& src) {
  for (const fs::path& p : files_in(src / "tests/golden/pth", ".pth")) {
    const std::string bytes = io::read_file(p.string());
    seed("zip", p.filename().string(), bytes);
    seed("pth", p.filename().string(), bytes);
    fuzz::expect_errors([&] {  // some fixtures are broken archives on purpose
      const io::ZipReader zip(p.string());
      for (const io::ZipEntry& e : zip.entries()) {
        if (!e.name.ends_with("/data.pkl") || e.method != 0) continue;
        const auto b = zip.data(e);
        seed("pickle", p.stem().string() + ".pkl", std::string(reinterpret_cast<const char*>(b.data()), b.size()));
      }
    });
  }
}

std::string zstd(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
  return out;
}

// Corpora and entropy files; the first byte is the target's mode (see fuzz_corpus.cpp, fuzz_entropy_file.cpp).
void data_seeds() {
  const std::string txt = "In the beginning God created the heaven and the earth.\n\nAnd the earth was without form.";
  const std::string jsonl = "{\"text\": \"In the beginning\"}\n\n{\"text\": \"caf\\u00e9 \\n x\", \"id\": 3}\n{\"text\": \"\"}\n";
  seed("corpus", "txt", std::string(1, '\0') + txt);
  seed("corpus", "jsonl", "\x01" + jsonl);
  seed("corpus", "txt_zst", "\x02" + zstd(txt));
  seed("corpus", "jsonl_zst", "\x03" + zstd(jsonl));
  seed("corpus", "jsonl_compressed_here", "\x04" + jsonl);
  const std::vector<float> h = {0.5f, 3.25f, 1e-3f, 0.0f, 2.0f};
  seed("entropy_file", "f32", std::string(1, '\0') + std::string(reinterpret_cast<const char*>(h.data()), h.size() * 4));
  seed("entropy_file", "json", "\x01[0.5, 3.25, 0.001, 0, 2.0]");
  seed("entropy_file", "jsonl", "\x02{\"pos\": 0, \"entropy\": 0.5}\n{\"pos\": 1, \"entropy\": 3.25}\n");
}

// Model directories, their weight files, and an entropy cache, from tiny models.
void model_seeds() {
  const fs::path work = fuzz::scratch_dir();
  patching::PatcherArgs patcher;
  modeldir::EntropyModel::create(fuzz::tiny_lm(), patcher).save((work / "entropy").string());
  seed("modeldir", "entropy_dir", joined(std::string(1, '\0'), work / "entropy", {"params.json", "model.safetensors"}));
  seed("safetensors", "tiny_lm", io::read_file((work / "entropy/model.safetensors").string()));
  for (const std::string mode : {"space", "entropy"}) {
    patcher.patching_mode = patching::parse_patching_mode(mode);
    modeldir::BltModel m = modeldir::BltModel::create(fuzz::tiny_blt(mode), patcher);
    if (mode == "entropy") m.entropy = modeldir::EntropyModel::create(fuzz::tiny_lm(), patcher);
    m.save((work / mode).string());
    seed("modeldir", "blt_" + mode,
         joined("\x01", work / mode,
                {"config.json", "model.safetensors", "entropy_model/params.json", "entropy_model/model.safetensors",
                 "train_args.json"}));
  }
  const data::Corpus corpus = fuzz::tiny_corpus();
  pipeline::EntropyCache cache{"@KEY@", std::vector<float>(corpus.bytes.size() + 2, 0.5f)};
  pipeline::write_entropy_cache((work / "cache").string(), cache, corpus, 8);
  seed("entropy_cache", "cache", joined("", work / "cache", {"cache.json", "entropies.f32"}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds SOURCE_DIR OUT_DIR\n");
    return 2;
  }
  g_out = argv[2];
  config_seeds(argv[1]);
  pth_seeds(argv[1]);
  data_seeds();
  model_seeds();
  return 0;
}
