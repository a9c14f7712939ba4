// The whole BLT forward and its intermediates against the oracle fixtures
// (tiny_blt: cross attention both ways, hash embeddings, EOS/BOS inside;
// tiny_blt_nocross: pooling, gather, decoder addition, BPE-delimited input),
// in float32 and float64, max abs diff <= 1e-4 (f32).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "io/safetensors.h"
#include "model/blt.h"
#include "model/hash_ngram.h"
#include "nn/param_io.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

struct Fixture {
  explicit Fixture(const std::filesystem::path& d)
      : dir(d), expected(io::SafetensorsFile::open((d / "expected.safetensors").string())) {}
  std::filesystem::path dir;
  io::SafetensorsFile expected;
  model::BltArgs args;
  std::vector<int32_t> tokens, lengths;
  int64_t N = 0, P = 0;
};

Fixture load(const std::string& name) {
  Fixture f(fixture("oracle/" + name));
  const nlohmann::json cfg = io::read_json_file((f.dir / "config.json").string());
  f.args = model::parse_blt_args(cfg.at("args"), name + "/config.json");
  const nlohmann::json in = nlohmann::json::parse(std::ifstream(f.dir / "inputs.json"));
  f.tokens = in.at("tokens").at(0).get<std::vector<int32_t>>();
  f.lengths = in.at("patch_lengths").at(0).get<std::vector<int32_t>>();
  f.N = static_cast<int64_t>(f.tokens.size());
  f.P = static_cast<int64_t>(f.lengths.size());
  return f;
}

std::vector<int64_t> widen(const std::vector<int32_t>& v) { return {v.begin(), v.end()}; }

void check_fixture(const std::string& name) {
  const auto dir = fixture("oracle/" + name);
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "reference fixture not found: " << dir.string();
  Fixture f = load(name);
  const patching::PatchLayout layout = patching::make_patch_layout(f.tokens, f.lengths, 1, f.N, f.P, f.args.eos_id);

  // Integer intermediates.
  EXPECT_EQ(widen(layout.patch_ids), f.expected.read_ints("patch_ids"));
  EXPECT_EQ(widen(layout.decoder_patch_ids), f.expected.read_ints("decoder_patch_ids"));
  EXPECT_EQ(widen(layout.global_tokens), f.expected.read_ints("global_tokens"));
  const int64_t n_tables = f.args.n_hash_tables();
  std::vector<int32_t> hash(n_tables * f.N);
  model::hash_ngram_ids_all(f.tokens, 1, f.N, f.args.encoder_hash_byte_group_size,
                            f.args.encoder_hash_byte_group_nb_functions, f.args.encoder_hash_byte_group_vocab, hash);
  for (int64_t t = 0; t < n_tables; ++t)
    EXPECT_EQ(std::vector<int64_t>(hash.begin() + t * f.N, hash.begin() + (t + 1) * f.N),
              f.expected.read_ints("hash_ids." + std::to_string(t)))
        << "hash table " << t;

  for (DType dt : {DType::F32, DType::F64}) {
    nn::ParamRegistry reg(dt, false);
    model::ByteLatentTransformer blt(f.args, reg);
    reg.allocate();
    nn::load_params(reg, io::SafetensorsFile::open((f.dir / "model.safetensors").string()));
    Graph g;
    g.set_recording(false);
    TraceRecorder trace;
    g.set_tracer(&trace);
    const Var logits = blt.forward(g, f.tokens, layout);
    // The expected values are float64 results rounded to float32: a float64 run cannot beat that rounding.
    const double tol = dt == DType::F32 ? 1e-4 : 1e-5;
    const Tensor want = f.expected.read("logits", dt);
    EXPECT_LT(max_abs_diff(logits.value, want.view()), tol) << name << " logits " << dtype_name(dt);
    for (const char* key : {"encoder_embeds", "h_encoder", "h_cross", "global_in", "global_out", "decoder_patch_embeds"}) {
      if (std::string_view(key) == "h_cross" && !f.args.cross_attn_encoder) continue;  // no cross attention
      ASSERT_TRUE(f.expected.contains(key)) << name << ": the fixture has no " << key;
      ASSERT_TRUE(trace.tensors().count(key)) << key << " not traced";
      const Tensor& got = trace.tensors().at(key);
      const Tensor exp = f.expected.read(key, dt);
      EXPECT_LT(max_abs_diff(got.view().reshape(exp.shape()), exp.view()), tol) << name << " " << key << " " << dtype_name(dt);
    }
  }
}

TEST(BltOracle, TinyBltCrossAttention) { check_fixture("tiny_blt"); }
TEST(BltOracle, TinyBltPoolingNoCross) { check_fixture("tiny_blt_nocross"); }

}  // namespace
}  // namespace blt::test
