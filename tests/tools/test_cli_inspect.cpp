// `blt inspect` end to end on tests/golden/official_layout (the official release
// layout at tiny size, scripts/fixtures/make_official_layout.py): the parameter
// counts per component must equal the ones the script computed in Python, and
// every tensor must match; copies with renamed/reshaped tensors or a hostile
// .pth must fail with a non-zero exit, the mismatch or the global on stderr,
// and nothing written into the directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const fs::path kLayout = "tests/golden/official_layout";



// The "name count" lines of one section of the output, in order.
std::vector<std::pair<std::string, int64_t>> count_lines(const std::string& section) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::istringstream in(section);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string name, count, extra;
    if (!(words >> name >> count) || (words >> extra)) continue;
    if (!std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    out.emplace_back(name, std::stoll(count));
  }
  return out;
}

std::vector<std::pair<std::string, int64_t>> expected_counts(const nlohmann::json& counts) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& [name, n] : counts.items()) out.emplace_back(name, n.get<int64_t>());
  return out;  // nlohmann orders keys alphabetically; "total" sorts last among these names
}

class CliInspect : public ::testing::Test {
 protected:
  // A writable copy of the fixture (without expected.json).
  fs::path copy_layout() {
    const fs::path dir = tmp_.path() / "blt-tiny";
    fs::copy(kLayout, dir, fs::copy_options::recursive);
    fs::remove(dir / "expected.json");
    return dir;
  }
  Result blt(const std::vector<std::string>& args) { return run_blt(args, tmp_.path()); }

  TempDir tmp_;
};

TEST_F(CliInspect, OfficialLayoutPrintsCountsPerComponentAndMatches) {
  const nlohmann::json expected = nlohmann::json::parse(read_raw((kLayout / "expected.json").string()));
  const Result r = blt({"inspect", kLayout.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  const size_t entropy_at = r.out.find("entropy model ");
  ASSERT_NE(entropy_at, std::string::npos) << r.out;
  const std::string blt_part = r.out.substr(0, entropy_at), entropy_part = r.out.substr(entropy_at);

  EXPECT_EQ(count_lines(blt_part), expected_counts(expected.at("blt_counts"))) << r.out;
  for (const char* c :
       {"local_encoder", "global_transformer", "local_decoder", "encoder_hash_tok_embedding", "total"})
    EXPECT_TRUE(expected.at("blt_counts").contains(c)) << c;
  EXPECT_EQ(count_lines(entropy_part), expected_counts(expected.at("entropy_counts"))) << r.out;

  EXPECT_TRUE(contains(blt_part, "\"dim_global\":64")) << r.out;
  EXPECT_TRUE(contains(blt_part, "\"threshold\":3.4846181869506836")) << r.out;
  EXPECT_TRUE(contains(blt_part, "model.safetensors: all 86 tensors match the configuration")) << r.out;
  EXPECT_TRUE(contains(entropy_part, "consolidated.pth: all 21 tensors match the configuration")) << r.out;
}

TEST_F(CliInspect, MismatchedTensorsFailListingEachOne) {
  const fs::path dir = copy_layout();
  const std::string path = (dir / "model.safetensors").string();
  std::vector<std::pair<std::string, Tensor>> tensors;
  {
    const auto f = io::SafetensorsFile::open(path);
    for (const std::string& name : f.names()) {
      if (name == "local_decoder.norm.weight") continue;  // dropped
      if (name == "local_encoder.patch_embedding_projection.weight")
        tensors.emplace_back(name, Tensor::zeros(Shape{32, 64}, DType::F32));  // transposed
      else
        tensors.emplace_back(name, f.read(name));
    }
    tensors.emplace_back("local_decoder.extra.weight", Tensor::zeros(Shape{3}, DType::F32));
  }
  std::vector<std::pair<std::string, TensorView>> views;
  for (const auto& [name, t] : tensors) views.emplace_back(name, t.view());
  io::write_safetensors(path, views);

  const auto before = listing(dir);
  const Result r = blt({"inspect", dir.string()});
  EXPECT_NE(r.rc, 0) << r.out;
  for (const char* needle :
       {"1 missing, 1 unexpected, 1 wrongly shaped", "missing: local_decoder.norm.weight (32)",
        "unexpected: local_decoder.extra.weight (3)",
        "wrong shape: local_encoder.patch_embedding_projection.weight expected (64,32), found (32,64)"})
    EXPECT_TRUE(contains(r.err, needle)) << "expected '" << needle << "' in stderr: " << r.err;
  EXPECT_FALSE(contains(r.out, "match the configuration")) << r.out;
  EXPECT_EQ(listing(dir), before);
}

TEST_F(CliInspect, HostilePthFailsNamingTheGlobal) {
  const fs::path dir = copy_layout();
  fs::copy_file("tests/golden/official_layout_hostile/consolidated.pth",
                dir / "entropy_model" / "consolidated.pth", fs::copy_options::overwrite_existing);
  const auto before = listing(dir);
  const Result r = blt({"inspect", dir.string()});
  EXPECT_NE(r.rc, 0) << r.out;
  EXPECT_TRUE(contains(r.err, "consolidated.pth")) << r.err;
  EXPECT_TRUE(contains(r.err, "global 'posix.system' is not allowed")) << r.err;
  EXPECT_EQ(listing(dir), before);
}

}  // namespace
}  // namespace blt::test
