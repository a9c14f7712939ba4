// The transformers layout (model_type "blt") against the official one: names, the fused hash table,
// round trips official -> hf -> official (tensor bytes as stored, the configurations' meaning, and
// byte-identical files where our writer made the source), identical logits from both layouts, and
// HF configs with bad fields. Sources: tests/golden/official_layout (BF16 safetensors, the entropy
// model in consolidated.pth) and the oracle fixture oracle/tiny_blt (F32; skipped when absent).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "modeldir/blt_model.h"
#include "modeldir/hf_config.h"
#include "modeldir/hf_convert.h"
#include "modeldir/hf_weights.h"
#include "patching/patch_layout.h"
#include "support/fixtures.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;
using modeldir::Layout;

const fs::path kGolden = "tests/golden/official_layout";

// Every file under dir (relative names), sorted.
std::vector<std::string> files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string bytes_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The meaning of a directory's configuration: args, patcher settings and (when present) the entropy
// model's args, as loaded.
nlohmann::json meaning(const fs::path& dir) {
  const modeldir::BltModel m = modeldir::BltModel::load(dir.string());
  nlohmann::json j = {{"args", model::to_json(m.args)}, {"patcher", patching::to_json(m.patcher)}};
  if (m.entropy) j["entropy"] = lm::to_json(m.entropy->args);
  return j;
}

// Every parameter of both registries bitwise equal.
void expect_same_params(const nn::ParamRegistry& a, const nn::ParamRegistry& b) {
  ASSERT_EQ(a.params().size(), b.params().size());
  for (size_t i = 0; i < a.params().size(); ++i) {
    const TensorView va = a.value(static_cast<nn::ParamId>(i)), vb = b.value(static_cast<nn::ParamId>(i));
    ASSERT_EQ(va.nbytes(), vb.nbytes()) << a.params()[i].name;
    EXPECT_EQ(std::memcmp(va.raw(), vb.raw(), va.nbytes()), 0) << a.params()[i].name;
  }
}

// Every tensor of `src` is in `out` under its name with the same dtype and bytes, and nothing else is.
void expect_same_tensors(const fs::path& src_path, const fs::path& out_path) {
  const auto src = io::SafetensorsFile::open(src_path.string()),
             out = io::SafetensorsFile::open(out_path.string());
  EXPECT_EQ(out.names().size(), src.names().size());
  for (const std::string& name : src.names()) {
    ASSERT_TRUE(out.contains(name)) << name;
    EXPECT_EQ(out.info(name).dtype, src.info(name).dtype) << name;
    EXPECT_EQ(out.info(name).shape, src.info(name).shape) << name;
    EXPECT_TRUE(bytes_of(out.bytes(name)) == bytes_of(src.bytes(name))) << name << ": bytes differ";
  }
}

TEST(HfLayout, NamesMapComponentByComponent) {
  EXPECT_EQ(modeldir::hf_blt_name("local_encoder.layers.0.attention.wq.weight"),
            "model.local_encoder.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(modeldir::hf_blt_name("global_transformer.layers.1.feed_forward.w2.weight"),
            "model.global_transformer.layers.1.mlp.down_proj.weight");
  EXPECT_EQ(modeldir::hf_blt_name("local_decoder.cross_attn_layers.0.cross_attn_norm_kv.weight"),
            "model.local_decoder.cross_attn_layers.0.k_norm.weight");
  EXPECT_EQ(modeldir::hf_blt_name("local_encoder.tok_embeddings.weight"),
            "model.local_encoder.embed_tokens.weight");
  EXPECT_EQ(modeldir::hf_blt_name("local_decoder.output.weight"), "lm_head.weight");
  EXPECT_EQ(modeldir::hf_blt_name("encoder_hash_tok_embedding.7.weight"), modeldir::kHfHashName);
  EXPECT_EQ(modeldir::hf_patcher_name("layers.0.ffn_norm.weight"),
            "model.patcher.layers.0.post_attention_layernorm.weight");
  EXPECT_EQ(modeldir::hf_patcher_name("output.weight"), "model.patcher.lm_head.weight");
  EXPECT_EQ(modeldir::hash_table_index("encoder_hash_tok_embedding.12.weight"), 12);
  EXPECT_EQ(modeldir::hash_table_index("encoder_hash_tok_embedding.x.weight"), -1);
  EXPECT_EQ(modeldir::hash_table_index("local_encoder.tok_embeddings.weight"), -1);
}

// golden (BF16 + .pth) -> hf -> official: the HF files' shape, every BLT tensor's bytes, the meaning.
TEST(HfLayout, GoldenRoundTripKeepsBf16BytesAndMeaning) {
  TempDir tmp;
  const fs::path hf = tmp.path() / "hf", back = tmp.path() / "back", hf2 = tmp.path() / "hf2";
  modeldir::convert_model_dir(kGolden.string(), hf.string(), Layout::Hf, false);
  EXPECT_EQ(files(hf), (std::vector<std::string>{"config.json", "model.safetensors"}));
  const nlohmann::json cfg = io::read_json_file((hf / "config.json").string());
  EXPECT_EQ(cfg.at("model_type"), "blt");
  for (const char* sub : {"patcher_config", "encoder_config", "decoder_config", "global_config"})
    EXPECT_TRUE(cfg.at(sub).is_object()) << sub;
  EXPECT_EQ(modeldir::detect_layout(hf.string()), Layout::Hf);

  const auto src = io::SafetensorsFile::open((kGolden / "model.safetensors").string());
  const auto fused = io::SafetensorsFile::open((hf / "model.safetensors").string());
  const auto& info = fused.info(modeldir::kHfHashName);
  EXPECT_EQ(info.dtype, "BF16");
  EXPECT_EQ(info.shape, (std::vector<int64_t>{9 * 509, 32}));
  const std::string all = bytes_of(fused.bytes(modeldir::kHfHashName));
  const size_t table = 509 * 32 * 2;
  for (int t = 0; t < 9; ++t)
    EXPECT_TRUE(all.substr(t * table, table) ==
                bytes_of(src.bytes("encoder_hash_tok_embedding." + std::to_string(t) + ".weight")))
        << "table " << t << " is not at rows [" << t * 509 << ", " << (t + 1) * 509 << ")";
  EXPECT_TRUE(fused.contains("lm_head.weight"));
  // The entropy model from consolidated.pth keeps its dtype and bytes under model.patcher.
  const auto pth = io::read_pth_state_dict_raw((kGolden / "entropy_model" / "consolidated.pth").string());
  for (const auto& [name, t] : pth) {
    const std::string hf_name = modeldir::hf_patcher_name(name);
    ASSERT_TRUE(fused.contains(hf_name)) << hf_name;
    EXPECT_EQ(fused.info(hf_name).dtype, t.dtype) << hf_name;
    EXPECT_TRUE(bytes_of(fused.bytes(hf_name)) == bytes_of(t.bytes)) << hf_name << ": bytes differ";
  }

  modeldir::convert_model_dir(hf.string(), back.string(), Layout::Official, false);
  expect_same_tensors(kGolden / "model.safetensors", back / "model.safetensors");
  EXPECT_EQ(meaning(back), meaning(kGolden));
  EXPECT_EQ(meaning(hf), meaning(kGolden));

  // Our writer is deterministic: hf -> official -> hf gives the same HF files byte for byte.
  modeldir::convert_model_dir(back.string(), hf2.string(), Layout::Hf, false);
  for (const char* f : {"config.json", "model.safetensors"})
    EXPECT_TRUE(read_raw((hf / f).string()) == read_raw((hf2 / f).string())) << f << " differs";
}

// A directory our own writer made (BltModel::save) comes back byte for byte, every file.
TEST(HfLayout, OwnWriterRoundTripIsByteIdentical) {
  TempDir tmp;
  const fs::path ours = tmp.path() / "ours", hf = tmp.path() / "hf", back = tmp.path() / "back";
  modeldir::BltModel::load(kGolden.string()).save(ours.string());
  modeldir::convert_model_dir(ours.string(), hf.string(), Layout::Hf, false);
  modeldir::convert_model_dir(hf.string(), back.string(), Layout::Official, false);
  ASSERT_EQ(files(back), files(ours));
  for (const std::string& f : files(ours))
    EXPECT_TRUE(read_raw((back / f).string()) == read_raw((ours / f).string())) << f << " differs";
}

// The oracle BLT (F32) with the golden entropy model (saved as F32 safetensors): both layouts load to bitwise
// equal weights and give bitwise equal logits on the fixture's input; official -> hf -> official keeps every
// byte.
TEST(HfLayout, OracleBothLayoutsGiveIdenticalLogits) {
  const fs::path oracle = fixture("oracle/tiny_blt");
  BLT_REQUIRE_FIXTURE(oracle);
  TempDir tmp;
  const fs::path off = tmp.path() / "official", hf = tmp.path() / "hf", back = tmp.path() / "back";
  fs::create_directories(off);
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(oracle / f, off / f);
  modeldir::EntropyModel::load((kGolden / "entropy_model").string()).save((off / "entropy_model").string());
  modeldir::convert_model_dir(off.string(), hf.string(), Layout::Hf, false);
  modeldir::convert_model_dir(hf.string(), back.string(), Layout::Official, false);
  expect_same_tensors(oracle / "model.safetensors", back / "model.safetensors");
  expect_same_tensors(off / "entropy_model" / "model.safetensors",
                      back / "entropy_model" / "model.safetensors");

  const modeldir::BltModel a = modeldir::BltModel::load(off.string()),
                           b = modeldir::BltModel::load(hf.string());
  expect_same_params(*a.params, *b.params);
  ASSERT_TRUE(a.entropy && b.entropy);
  expect_same_params(*a.entropy->params, *b.entropy->params);
  const nlohmann::json in = io::read_json_file((oracle / "inputs.json").string());
  const auto tokens = in.at("tokens").at(0).get<std::vector<int32_t>>();
  const auto lengths = in.at("patch_lengths").at(0).get<std::vector<int32_t>>();
  const auto N = static_cast<int64_t>(tokens.size()), P = static_cast<int64_t>(lengths.size());
  const patching::PatchLayout layout = patching::make_patch_layout(tokens, lengths, 1, N, P, a.args.eos_id);
  Graph ga, gb;
  ga.set_recording(false);
  gb.set_recording(false);
  const Var la = a.model->forward(ga, tokens, layout), lb = b.model->forward(gb, tokens, layout);
  ASSERT_EQ(la.value.nbytes(), lb.value.nbytes());
  EXPECT_EQ(std::memcmp(la.value.raw(), lb.value.raw(), la.value.nbytes()), 0)
      << "logits differ between layouts";
  // The entropy model loads from the HF directory alone too.
  expect_same_params(*a.entropy->params, *modeldir::EntropyModel::load(hf.string()).params);
}

// Converts the golden model to HF, edits its config.json, and returns the error parsing it gives.
std::string hf_config_error(const std::function<void(nlohmann::json&)>& edit) {
  TempDir tmp;
  const fs::path hf = tmp.path() / "hf";
  modeldir::convert_model_dir(kGolden.string(), hf.string(), Layout::Hf, false);
  nlohmann::json cfg = io::read_json_file((hf / "config.json").string());
  edit(cfg);
  try {
    modeldir::parse_hf_config(cfg, "x/config.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the edited config parsed";
  return {};
}

TEST(HfLayout, BadHfFieldsAreNamed) {
  const auto has = [](const std::string& s, const std::string& n) { return s.find(n) != std::string::npos; };
  std::string e = hf_config_error([](nlohmann::json& c) { c["encoder_config"]["hidden_size"] = "wide"; });
  EXPECT_TRUE(has(e, "encoder_config") && has(e, "hidden_size")) << e;
  e = hf_config_error([](nlohmann::json& c) { c["patching_threshold"] = true; });
  EXPECT_TRUE(has(e, "patching_threshold")) << e;
  e = hf_config_error([](nlohmann::json& c) { c["decoder_config"]["hidden_act"] = "gelu"; });
  EXPECT_TRUE(has(e, "decoder_config") && has(e, "hidden_act")) << e;
  e = hf_config_error([](nlohmann::json& c) { c["global_config"]["intermediate_size"] = 100; });
  EXPECT_TRUE(has(e, "global_config") && has(e, "intermediate_size")) << e;
  e = hf_config_error([](nlohmann::json& c) { c["decoder_config"]["hidden_size_global"] = 32; });
  EXPECT_TRUE(has(e, "decoder_config") && has(e, "hidden_size_global")) << e;
  e = hf_config_error(
      [](nlohmann::json& c) { c["blt_args_patching"]["patch_size"] = nlohmann::json::array({4}); });
  EXPECT_TRUE(has(e, "blt_args_patching") && has(e, "patch_size")) << e;
  e = hf_config_error(
      [](nlohmann::json& c) { c["encoder_config"]["rope_parameters"]["rope_type"] = "llama3"; });
  EXPECT_TRUE(has(e, "rope_parameters") && has(e, "rope_type")) << e;
}

// What the transformers port documents as defaults applies to fields the config lacks.
TEST(HfLayout, MissingFieldsTakeThePortsDefaults) {
  const nlohmann::json hf = {{"model_type", "blt"}, {"patch_in_forward", false}};
  const modeldir::HfConfig c = modeldir::parse_hf_config(hf, "defaults/config.json");
  EXPECT_EQ(c.args.dim_local_encoder, 1024);
  EXPECT_EQ(c.args.n_layers_local_decoder, 9);
  EXPECT_EQ(c.args.dim_global, 2048);
  EXPECT_EQ(c.args.n_layers_global, 25);
  EXPECT_EQ(c.args.encoder_hash_byte_group_vocab, 500002);
  EXPECT_EQ(c.args.encoder_hash_byte_group_size, (std::vector<int64_t>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(c.args.rope_theta, 500000.0);
  EXPECT_EQ(c.args.local_attention_window_len, 24576);  // the port's local attention spans the context
  EXPECT_EQ(c.args.attn_bias_type, "causal");
  EXPECT_DOUBLE_EQ(c.patcher.threshold, 1.335442066192627);
  EXPECT_FALSE(c.entropy);
}

// A configuration the port cannot express is refused before anything is written.
TEST(HfLayout, UnrepresentableConfigIsRefusedNamingTheField) {
  const fs::path nocross = fixture("oracle/tiny_blt_nocross");
  BLT_REQUIRE_FIXTURE(nocross);
  TempDir tmp;
  const fs::path dst = tmp.path() / "hf";
  try {
    modeldir::convert_model_dir(nocross.string(), dst.string(), Layout::Hf, false);
    ADD_FAILURE() << "converted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cross_attn_encoder"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dst));
  EXPECT_EQ(files(tmp.path()), std::vector<std::string>{});
}

}  // namespace
}  // namespace blt::test
