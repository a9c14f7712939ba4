// The entropy model against the oracle fixture tiny_entropy: logits, per-byte
// entropies and the patch lengths they give, in float32 and float64.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lm/entropies.h"
#include "modeldir/entropy_model.h"
#include "io/json_fields.h"
#include "io/safetensors.h"
#include "nn/param_io.h"
#include "patching/patcher.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(EntropyOracle, TinyEntropyLogitsEntropiesAndPatches) {
  const auto dir = fixture("oracle/tiny_entropy");
  BLT_REQUIRE_FIXTURE(dir);
  const nlohmann::json cfg = io::read_json_file((dir / "config.json").string());
  const auto args = lm::parse_lm_args(cfg.at("args"), "tiny_entropy/config.json");
  const nlohmann::json inputs = nlohmann::json::parse(std::ifstream(dir / "inputs.json"));
  const auto tokens = inputs.at("tokens").at(0).get<std::vector<int32_t>>();
  const auto expected = io::SafetensorsFile::open((dir / "expected.safetensors").string());
  const int64_t T = static_cast<int64_t>(tokens.size());

  for (DType dt : {DType::F32, DType::F64}) {
    patching::PatcherArgs pa;
    auto m = modeldir::EntropyModel::create(args, pa, dt);
    nn::load_params(*m.params, io::SafetensorsFile::open((dir / "model.safetensors").string()));
    Graph g;
    g.set_recording(false);
    Var logits = m.model->forward(g, tokens, 1, T);
    const Tensor want = expected.read("logits", dt);
    EXPECT_LT(max_abs_diff(logits.value, want.view()), dt == DType::F32 ? 1e-5 : 1e-6) << dtype_name(dt);

    lm::EntropyComputer ec(*m.model, {});
    const std::vector<float> h = ec.compute(tokens);
    const Tensor want_h = expected.read("entropies");
    double worst = 0;
    for (int64_t i = 0; i < T; ++i) worst = std::max(worst, std::fabs(h[i] - want_h.at(i)));
    EXPECT_LT(worst, 1e-5) << dtype_name(dt);

    pa.threshold = inputs.at("threshold").get<double>();
    const auto lengths = patching::patch_lengths(pa, tokens, h, inputs.at("include_next_token").get<bool>());
    EXPECT_EQ(lengths, inputs.at("patch_lengths").at(0).get<std::vector<int32_t>>());
    const auto stored = expected.read_ints("patch_lengths");
    EXPECT_EQ(std::vector<int64_t>(lengths.begin(), lengths.end()), stored);
  }
}

TEST(EntropyOracle, ChunkingRestartsContext) {
  // A sequence cut into chunks equals running each chunk alone (calculate_entropies' semantics).
  const auto dir = fixture("oracle/tiny_entropy");
  BLT_REQUIRE_FIXTURE(dir);
  const nlohmann::json cfg = io::read_json_file((dir / "config.json").string());
  const auto args = lm::parse_lm_args(cfg.at("args"), "tiny_entropy/config.json");
  auto m = modeldir::EntropyModel::create(args, {}, DType::F32);
  nn::load_params(*m.params, io::SafetensorsFile::open((dir / "model.safetensors").string()));
  std::vector<int32_t> toks;
  for (int i = 0; i < 100; ++i) toks.push_back(4 + (i * 37) % 200);
  lm::EntropyComputer chunked(*m.model, {.chunk = 30, .batch = 2});
  const auto all = chunked.compute(toks);
  ASSERT_EQ(all.size(), toks.size());
  lm::EntropyComputer single(*m.model, {.chunk = 128, .batch = 1});
  for (int64_t c = 0; c < 100; c += 30) {
    const auto part = single.compute(std::span(toks).subspan(c, std::min<int64_t>(30, 100 - c)));
    for (size_t i = 0; i < part.size(); ++i) EXPECT_NEAR(part[i], all[c + i], 1e-5) << "position " << c + i;
  }
  // Rows (3 × 30), batched two at a time: each row is its own context.
  std::vector<float> rows(90);
  chunked.compute_rows(std::span(toks).first(90), 3, 30, rows);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_NEAR(rows[i], all[i], 1e-5) << "position " << i;
}

}  // namespace
}  // namespace blt::test
