// BltModel::load on a directory in the official release layout (facebook/blt-1b:
// BF16 model.safetensors, entropy_model/params.json + consolidated.pth), built at
// tiny size by scripts/fixtures/make_official_layout.py into tests/golden/official_layout.
// Loaded values are checked against the script's own sums, the models against the
// oracle fixtures; copies in temp dirs carry a hostile or truncated .pth, renamed or
// reshaped tensors and bad configs, each of which must be a typed error naming the cause.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "modeldir/blt_model.h"
#include "modeldir/weights.h"
#include "nn/param_io.h"
#include "patching/row_patcher.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const fs::path kLayout = "tests/golden/official_layout";
const fs::path kHostilePth = "tests/golden/official_layout_hostile/consolidated.pth";

nlohmann::json expected_json() {
  return nlohmann::json::parse(read_raw((kLayout / "expected.json").string()));
}

// Every parameter of `reg` against the script's shape, sum and sum of squares (float64, after conversion).
void expect_sums(const nn::ParamRegistry& reg, const nlohmann::json& want, const std::string& what) {
  EXPECT_EQ(reg.params().size(), want.size()) << what << ": tensor count";
  for (size_t i = 0; i < reg.params().size(); ++i) {
    const nn::ParamInfo& p = reg.params()[i];
    ASSERT_TRUE(want.contains(p.name)) << what << ": " << p.name << " not in expected.json";
    const nlohmann::json& w = want.at(p.name);
    const auto shape = w.at("shape").get<std::vector<int64_t>>();
    ASSERT_EQ(p.shape.rank(), static_cast<int>(shape.size())) << p.name;
    for (int d = 0; d < p.shape.rank(); ++d) EXPECT_EQ(p.shape[d], shape[d]) << p.name;
    const TensorView v = reg.value(static_cast<nn::ParamId>(i));
    double sum = 0, sum_sq = 0;
    for (int64_t j = 0; j < v.numel(); ++j) {
      sum += v.at(j);
      sum_sq += v.at(j) * v.at(j);
    }
    EXPECT_NEAR(sum, w.at("sum").get<double>(), 1e-6 * w.at("sum_abs").get<double>())
        << what << " " << p.name;
    EXPECT_NEAR(sum_sq, w.at("sum_sq").get<double>(), 1e-6 * w.at("sum_sq").get<double>())
        << what << " " << p.name;
  }
}

// A writable copy of the fixture directory.
fs::path copy_layout(const TempDir& tmp) {
  const fs::path dir = tmp.path() / "blt-tiny";
  fs::copy(kLayout, dir, fs::copy_options::recursive);
  fs::remove(dir / "expected.json");
  return dir;
}

template <class E>
std::string load_error(const fs::path& dir) {
  try {
    modeldir::BltModel::load(dir.string());
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << dir.string() << " loaded without error";
  return {};
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json cfg = io::read_json_file((dir / "config.json").string());
  edit(cfg.at("args"));
  write_raw((dir / "config.json").string(), cfg.dump(1));
}

// Collects io::warn messages while alive; the default stderr sink is restored afterwards.
class CaptureWarnings {
 public:
  CaptureWarnings() {
    io::set_warning_sink([this](const std::string& m) { messages.push_back(m); });
  }
  ~CaptureWarnings() {
    io::set_warning_sink([](const std::string& m) { std::cerr << "warning: " << m << "\n"; });
  }
  std::vector<std::string> messages;
};

// The fixture's entropy model (consolidated.pth) in a model whose attention window is `window`.
modeldir::EntropyModel with_window(int64_t window) {
  lm::LMTransformerArgs a =
      modeldir::read_entropy_config((kLayout / "entropy_model" / "params.json").string()).args;
  a.sliding_window = window;
  modeldir::EntropyModel e = modeldir::EntropyModel::create(a, {});
  modeldir::load_weights(*e.params, modeldir::find_weights((kLayout / "entropy_model").string()), DType::F32);
  return e;
}

std::vector<float> entropy_logits(const lm::LMTransformer& lm, std::span<const int32_t> tokens) {
  Graph g;
  g.set_recording(false);
  const Var out = lm.forward(g, tokens, 1, static_cast<int64_t>(tokens.size()));
  return {out.value.data<float>(), out.value.data<float>() + out.value.numel()};
}

TEST(OfficialLayout, PthEntropyModelAttendsAsTheOfficialLoaderBuildsIt) {
  std::vector<int32_t> tokens = {1};
  for (char c : std::string("And the earth was without form, and void.")) tokens.push_back(c + 4);
  CaptureWarnings warnings;
  const modeldir::EntropyModel loaded = modeldir::EntropyModel::load((kLayout / "entropy_model").string());
  EXPECT_EQ(warnings.messages.size(), 1u);
  EXPECT_EQ(loaded.args.sliding_window, 512);
  const std::vector<float> got = entropy_logits(*loaded.model, tokens);
  EXPECT_EQ(got, entropy_logits(*with_window(512).model, tokens));
  EXPECT_NE(got, entropy_logits(*with_window(8).model, tokens)) << "42 tokens: window 8 must differ";

  // Our own layout (model.safetensors) keeps what params.json says, without a warning.
  TempDir tmp;
  const fs::path ours = tmp.path() / "entropy_model";
  fs::create_directories(ours);
  fs::copy_file(kLayout / "entropy_model" / "params.json", ours / "params.json");
  nn::save_params(*with_window(8).params, (ours / "model.safetensors").string());
  warnings.messages.clear();
  const modeldir::EntropyModel own = modeldir::EntropyModel::load(ours.string());
  EXPECT_TRUE(warnings.messages.empty());
  EXPECT_EQ(own.args.sliding_window, 8);
  EXPECT_EQ(entropy_logits(*own.model, tokens), entropy_logits(*with_window(8).model, tokens));
}

TEST(OfficialLayout, LoadsBf16WeightsAndPthEntropyModel) {
  CaptureWarnings warnings;
  const modeldir::BltModel m = modeldir::BltModel::load(kLayout.string());
  // Every field of the reference's config and of the training config around the entropy model is known:
  // the one warning says that params.json's window (8) gives way to the official loader's 512.
  ASSERT_EQ(warnings.messages.size(), 1u) << warnings.messages.size() << " warnings";
  for (const char* want : {"entropy_model/params.json", "sliding_window 8", "512", "consolidated.pth"})
    EXPECT_TRUE(contains(warnings.messages[0], want)) << warnings.messages[0];
  const nlohmann::json want = expected_json();
  expect_sums(*m.params, want.at("blt"), "blt");
  EXPECT_EQ(m.args.dim_global, 64);
  EXPECT_EQ(m.args.max_encoder_seq_length, 128);

  // The patcher settings come from entropy_model/params.json (realtime_patching and patch_size 4.5 are
  // only there; config.json says patch_size 4).
  EXPECT_EQ(m.patcher.patching_mode, patching::PatchingMode::Entropy);
  EXPECT_EQ(m.patcher.threshold, 3.4846181869506836);
  EXPECT_TRUE(m.patcher.realtime_patching);
  EXPECT_EQ(m.patcher.patch_size, 4.5);

  ASSERT_TRUE(m.entropy.has_value());
  EXPECT_EQ(m.entropy->args.dim, 32);
  EXPECT_EQ(m.entropy->args.n_layers, 2);
  EXPECT_EQ(m.entropy->args.sliding_window, 512);
  EXPECT_EQ(m.entropy->args.attn_bias_type, lm::AttnBias::LocalBlockCausal);
  expect_sums(*m.entropy->params, want.at("entropy_model"), "entropy_model");
}

TEST(OfficialLayout, EntropyModelFromPthReproducesOracleLogitsAndPatches) {
  const fs::path oracle = fixture("oracle/tiny_entropy");
  BLT_REQUIRE_FIXTURE(oracle);
  const auto inputs = io::read_json_file((oracle / "inputs.json").string());
  const auto tokens = inputs.at("tokens").at(0).get<std::vector<int32_t>>();
  const auto expected = io::SafetensorsFile::open((oracle / "expected.safetensors").string());

  const modeldir::BltModel m = modeldir::BltModel::load(kLayout.string());
  // The oracle ran params.json's window of 8, which loading replaces by the official 512 (tested below):
  // the .pth weights go into a model with the oracle's window.
  const modeldir::EntropyModel e = with_window(8);
  Graph g;
  g.set_recording(false);
  const Var logits = e.model->forward(g, tokens, 1, static_cast<int64_t>(tokens.size()));
  EXPECT_LE(max_abs_diff(logits.value, expected.read("logits").view()), 1e-4);

  // The directory's own patcher (threshold from params.json) gives the oracle's patch lengths.
  patching::RowPatcher rp(m.patcher, e.model.get(), m.args.eos_id);
  patching::PatchLayout layout;
  rp.layout(tokens, 1, static_cast<int64_t>(tokens.size()), layout);
  EXPECT_EQ(layout.lengths, inputs.at("patch_lengths").at(0).get<std::vector<int32_t>>());
}

TEST(OfficialLayout, Bf16BltForwardStaysNearF32Oracle) {
  const fs::path oracle = fixture("oracle/tiny_blt");
  BLT_REQUIRE_FIXTURE(oracle);
  const auto inputs = io::read_json_file((oracle / "inputs.json").string());
  const auto tokens = inputs.at("tokens").at(0).get<std::vector<int32_t>>();
  const auto lengths = inputs.at("patch_lengths").at(0).get<std::vector<int32_t>>();
  const int64_t N = static_cast<int64_t>(tokens.size()), P = static_cast<int64_t>(lengths.size());

  const modeldir::BltModel m = modeldir::BltModel::load(kLayout.string());
  const patching::PatchLayout layout = patching::make_patch_layout(tokens, lengths, 1, N, P, m.args.eos_id);
  Graph g;
  g.set_recording(false);
  const Var logits = m.model->forward(g, tokens, layout);
  for (int64_t i = 0; i < logits.value.numel(); ++i)
    ASSERT_TRUE(std::isfinite(logits.value.at(i))) << "logit " << i;
  const Tensor want = io::SafetensorsFile::open((oracle / "expected.safetensors").string()).read("logits");
  const double diff = max_abs_diff(logits.value, want.view());
  // BF16 rounding of the weights (relative 2^-9) moves the logits a little, but not by much, and not by
  // nothing.
  EXPECT_LE(diff, 5e-2);
  EXPECT_GT(diff, 1e-6) << "the BF16 weights should not reproduce the F32 oracle exactly";
}

TEST(OfficialLayout, HostilePthIsRejectedNamingTheGlobal) {
  TempDir tmp;
  const fs::path dir = copy_layout(tmp);
  fs::copy_file(kHostilePth, dir / "entropy_model" / "consolidated.pth",
                fs::copy_options::overwrite_existing);
  const auto before = listing(dir);
  const std::string msg = load_error<FormatError>(dir);
  EXPECT_TRUE(contains(msg, "posix.system")) << msg;
  EXPECT_TRUE(contains(msg, "consolidated.pth")) << msg;
  EXPECT_EQ(listing(dir), before);
}

TEST(OfficialLayout, TruncatedPthIsAnErrorNotACrash) {
  TempDir tmp;
  const fs::path dir = copy_layout(tmp);
  const fs::path pth = dir / "entropy_model" / "consolidated.pth";
  const std::string full = read_raw(pth.string());
  // Empty, inside the first local header, mid-data, inside the central directory, one byte short.
  for (size_t n : {size_t{0}, size_t{20}, full.size() / 2, full.size() - 100, full.size() - 1}) {
    write_raw(pth.string(), std::string_view(full).substr(0, n));
    try {
      modeldir::BltModel::load(dir.string());
      ADD_FAILURE() << "truncated to " << n << " bytes: loaded without error";
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), "consolidated.pth")) << n << " bytes: " << e.what();
    }
  }
}

TEST(OfficialLayout, MismatchedWeightsListEveryNameAndShape) {
  TempDir tmp;
  const fs::path dir = copy_layout(tmp);
  const std::string path = (dir / "model.safetensors").string();
  std::vector<std::pair<std::string, Tensor>> tensors;
  {
    const auto f = io::SafetensorsFile::open(path);
    for (const std::string& name : f.names()) {
      if (name == "global_transformer.layers.1.ffn_norm.weight")
        tensors.emplace_back("global_transformer.layers.1.ffn_norm.scale", f.read(name));
      else if (name == "local_encoder.tok_embeddings.weight")
        tensors.emplace_back(name, Tensor::zeros(Shape{259, 32}, DType::F32));
      else
        tensors.emplace_back(name, f.read(name));
    }
  }
  std::vector<std::pair<std::string, TensorView>> views;
  for (const auto& [name, t] : tensors) views.emplace_back(name, t.view());
  io::write_safetensors(path, views);

  const std::string msg = load_error<FormatError>(dir);
  for (const char* needle :
       {"model.safetensors", "1 missing, 1 unexpected, 1 wrongly shaped",
        "missing: global_transformer.layers.1.ffn_norm.weight (64)",
        "unexpected: global_transformer.layers.1.ffn_norm.scale (64)",
        "wrong shape: local_encoder.tok_embeddings.weight expected (260,32), found (259,32)"})
    EXPECT_TRUE(contains(msg, needle)) << "expected '" << needle << "' in: " << msg;
}

TEST(OfficialLayout, EntropyConfigDisagreeingWithPthListsTheTensors) {
  TempDir tmp;
  const fs::path dir = copy_layout(tmp);
  const fs::path params = dir / "entropy_model" / "params.json";
  nlohmann::json j = io::read_json_file(params.string());
  j["entropy_model"]["n_layers"] = 3;
  write_raw(params.string(), j.dump(1));
  const std::string msg = load_error<FormatError>(dir);
  EXPECT_TRUE(contains(msg, "consolidated.pth")) << msg;
  EXPECT_TRUE(contains(msg, "missing: layers.2.attention.wq.weight (32,32)")) << msg;
}

TEST(OfficialLayout, ConfigMissingRequiredFieldIsNamed) {
  TempDir tmp;
  const fs::path dir = copy_layout(tmp);
  edit_config(dir, [](nlohmann::json& args) { args.erase("max_encoder_seq_length"); });
  const std::string msg = load_error<ConfigError>(dir);
  EXPECT_TRUE(contains(msg, "max_encoder_seq_length")) << msg;
  EXPECT_TRUE(contains(msg, "config.json")) << msg;
}

TEST(OfficialLayout, UnsupportedConfigCombinationNamesTheField) {
  const std::vector<std::pair<std::string, std::function<void(nlohmann::json&)>>> cases = {
      {"use_rope", [](nlohmann::json& a) { a["use_rope"] = false; }},
      {"cross_attn_init_by_pooling", [](nlohmann::json& a) { a["cross_attn_init_by_pooling"] = false; }},
  };
  for (const auto& [field, edit] : cases) {
    TempDir tmp;
    const fs::path dir = copy_layout(tmp);
    edit_config(dir, edit);
    const std::string msg = load_error<ConfigError>(dir);
    EXPECT_TRUE(contains(msg, "'" + field + "'")) << msg;
  }
}

}  // namespace
}  // namespace blt::test
