// Hostile nesting in model-directory JSON: a 200000-deep value beside valid settings
// (20x the depth a Release build survives when the document is copied) must be read
// without copying the document (nlohmann's copy recurses once per level). Found by
// fuzz_entropy_config under ASan (tests/fuzz/regressions/entropy_config/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/file.h"
#include "io/temp_dir.h"
#include "modeldir/blt_model.h"
#include "modeldir/entropy_model.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const std::string kDeep = std::string(200000, '[') + std::string(200000, ']');
const std::string kLm = R"({"dim": 32, "n_layers": 1, "n_heads": 4, "max_seqlen": 64, "vocab_size": 260})";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

TEST(DeepJson, EntropyParamsWithADeepFieldAreReadWithoutCopying) {
  TempDir tmp;
  const std::string path = tmp.file("params.json");
  write(path, R"({"entropy_model": )" + kLm + R"(, "data": {"junk": )" + kDeep +
                  R"(, "patcher_args": {"patching_mode": "space"}}})");
  const modeldir::EntropyModelConfig c = modeldir::read_entropy_config(path);
  EXPECT_EQ(c.args.dim, 32);
  EXPECT_EQ(c.patcher.patching_mode, patching::PatchingMode::Space);
}

TEST(DeepJson, BltDirectoryWithADeepTrainArgsFieldIsReadWithoutCopying) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "blt";
  write(dir / "config.json", io::read_file("tests/golden/official_layout/config.json"));
  write(dir / "train_args.json",
        R"({"junk": )" + kDeep + R"(, "data": {"patcher_args": {"patching_mode": "static", "patch_size": 4}}})");
  const modeldir::BltConfig c = modeldir::read_blt_config(dir.string());
  EXPECT_EQ(c.patcher.patching_mode, patching::PatchingMode::Static);
}

}  // namespace
}  // namespace blt::test
