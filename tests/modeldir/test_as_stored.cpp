// Model directories loaded with their weights used as stored (BltModel::load_as_stored): the golden BF16
// BLT (official and transformers layout) gives bit-identical logits to the same file loaded to float32 with
// the bf16 mirror (the same bf16 weights, activations rounded the same way by the same products: exact);
// the memory plan counts it at 2 bytes per parameter with the hash tables file-backed; and a BLT with
// ~200 MB of bf16 hash tables loads (and runs a forward) with its resident anonymous memory growing by
// well under the tables' size (mapped pages are not copied, and untouched ones never come in); in a
// float32 graph the stored weights give the float32 load's logits (to float32 rounding).
#include <gtest/gtest.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include "blas/gemm_bf16.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "modeldir/blt_model.h"
#include "modeldir/hf_convert.h"
#include "modeldir/memory_plan.h"
#include "patching/patch_layout.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;
const fs::path kGolden = "tests/golden/official_layout";

// Logits of the model on a fixed 24-byte input in patches of 1, 4, ..., 4, 3, at the registry's precision
// (or at `p`).
std::vector<float> logits(const modeldir::BltModel& m, std::optional<Precision> p = {}) {
  std::vector<int32_t> tokens(24), lengths = {1, 4, 4, 4, 4, 4, 3};
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(4 + (i * 29) % 256);
  const patching::PatchLayout layout = patching::make_patch_layout(tokens, lengths, 1, 24, 7, m.args.eos_id);
  Graph g;
  g.set_recording(false);
  g.set_precision(p.value_or(m.params->precision()));
  const Var y = m.model->forward(g, tokens, layout);
  return {y.value.data<float>(), y.value.data<float>() + y.value.numel()};
}

modeldir::BltModel with_mirror(modeldir::BltModel m) {
  m.params->enable_bf16_mirror();
  return m;
}

TEST(AsStored, GoldenBf16GivesTheMirrorsLogitsExactlyInBothLayouts) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  TempDir tmp;
  const fs::path hf = tmp.path() / "hf";
  modeldir::convert_model_dir(kGolden.string(), hf.string(), modeldir::Layout::Hf, false);
  const std::vector<float> ref = logits(with_mirror(modeldir::BltModel::load(kGolden.string())));
  for (const fs::path& dir : {kGolden, hf}) {
    const modeldir::BltModel m = modeldir::BltModel::load_as_stored(dir.string());
    EXPECT_TRUE(m.params->as_stored()) << dir;
    EXPECT_EQ(m.params->value(*m.params->find("encoder_hash_tok_embedding.3.weight")).dtype(), DType::BF16);
    ASSERT_TRUE(m.entropy);
    EXPECT_FALSE(m.entropy->params->as_stored()) << "its weights are not BF16: float32 as before";
    EXPECT_TRUE(logits(m) == ref) << dir << ": logits differ from the float32 load with the mirror";
  }
}

// In a float32 graph (what a CPU without a bf16 engine runs; here on any CPU) the stored weights are
// multiplied in float32: the logits of the float32 load (the same values), summation order aside.
TEST(AsStored, GoldenBf16InFloat32GivesTheFloat32LoadsLogits) {
  const std::vector<float> ref = logits(modeldir::BltModel::load(kGolden.string()));
  const modeldir::BltModel m = modeldir::BltModel::load_as_stored(kGolden.string());
  ASSERT_TRUE(m.params->as_stored());
  EXPECT_EQ(m.params->precision(), blas::has_bf16_matmul() ? Precision::BF16 : Precision::F32);
  const std::vector<float> y = logits(m, Precision::F32);
  ASSERT_EQ(y.size(), ref.size());
  float scale = 0;
  for (float v : ref) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-5f * scale) << i;
}

// blt-1b's published shapes: the hash tables (6 x 500002 x 1024) dominate; as stored they stay in the file.
TEST(AsStored, MemoryPlanCountsBf16WithFileBackedHashTables) {
  model::BltArgs a = tiny_blt_args();
  a.dim_global = 2048;
  a.n_layers_global = 25;
  a.n_heads_global = 16;
  a.dim_local_encoder = a.dim_local_decoder = 1024;
  a.n_layers_local_encoder = 1;
  a.n_layers_local_decoder = 9;
  a.encoder_hash_byte_group_size = {3, 4, 5, 6, 7, 8};
  a.encoder_hash_byte_group_vocab = 500002;
  const double f32 = modeldir::plan_memory(a, DType::F32).total();
  const double stored = modeldir::plan_memory(a, DType::F32, {.as_stored = true}).total();
  EXPECT_GT(f32, 14.0 * (1 << 30));
  EXPECT_LT(stored, 4.0 * (1 << 30));
  EXPECT_NO_THROW(modeldir::check_memory(modeldir::plan_memory(a, DType::F32, {.as_stored = true}), "x",
                                         8.0 * (1 << 30)));
  EXPECT_THROW(modeldir::check_memory(modeldir::plan_memory(a, DType::F32), "x", 8.0 * (1 << 30)),
               ConfigError);
}

// RssAnon of this process in bytes (private memory actually resident: not the mapped file's pages).
int64_t rss_anon() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8)) * 1024;
  return -1;
}

// A space-patched BLT with 2 hash tables of 800000 x 64 (205 MB in bf16, 410 MB in float32), every weight
// zero, written without ever holding them (one zero block repeated).
void write_big_bf16_blt(const fs::path& dir, const model::BltArgs& args) {
  fs::create_directories(dir);
  patching::PatcherArgs patcher;
  patcher.patching_mode = patching::PatchingMode::Space;
  io::write_file_atomic((dir / "config.json").string(), modeldir::blt_config_text(args));
  io::write_file_atomic((dir / "train_args.json").string(), modeldir::train_args_text(patcher));
  const modeldir::BltModel declared = modeldir::BltModel::declare(args, patcher);
  const std::vector<std::byte> zeros(1 << 20);
  std::vector<io::RawTensor> tensors;
  for (const nn::ParamInfo& p : declared.params->params()) {
    io::RawTensor t{p.name, "BF16", {}, {}};
    for (int i = 0; i < p.shape.rank(); ++i) t.shape.push_back(p.shape[i]);
    for (size_t left = static_cast<size_t>(p.shape.numel()) * 2; left > 0;
         left -= std::min(left, zeros.size()))
      t.pieces.emplace_back(zeros.data(), std::min(left, zeros.size()));
    tensors.push_back(std::move(t));
  }
  io::write_safetensors_raw((dir / "model.safetensors").string(), tensors);
}

// Whether the mapping of this process that holds p has the kernel's random-read advice ("rr" in its
// VmFlags line of /proc/self/smaps: MADV_RANDOM).
bool random_reads_advised(const void* p) {
  std::ifstream in("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &begin, &end) == 2 &&
        line.find(':') > line.find(' '))
      inside = begin <= at && at < end;
    else if (inside && line.rfind("VmFlags:", 0) == 0)
      return (line + " ").find(" rr ") != std::string::npos;
  }
  return false;
}

TEST(AsStored, LoadingCopiesNoHashTable) {
  model::BltArgs a = tiny_blt_args({.dim_local = 64, .dim_global = 128});
  a.encoder_hash_byte_group_vocab = 800000;
  const double table_bytes = 2.0 * 800000 * 64 * 2;
  TempDir tmp;
  write_big_bf16_blt(tmp.path() / "big", a);
  const int64_t before = rss_anon();
  ASSERT_GT(before, 0) << "no RssAnon in /proc/self/status";
  const modeldir::BltModel m = modeldir::BltModel::load_as_stored((tmp.path() / "big").string());
  ASSERT_TRUE(m.params->as_stored());
  const double grown = static_cast<double>(rss_anon() - before);
  for (int t = 0; t < 2; ++t) {  // hash rows are read at random: no readahead on their pages
    const TensorView v =
        m.params->value(*m.params->find("encoder_hash_tok_embedding." + std::to_string(t) + ".weight"));
    EXPECT_TRUE(random_reads_advised(static_cast<const std::byte*>(v.raw()) + v.nbytes() / 2))
        << "table " << t;
  }
  EXPECT_FALSE(
      random_reads_advised(m.params->value(*m.params->find("local_encoder.tok_embeddings.weight")).raw()))
      << "the other matrices keep readahead (read whole by every forward)";
  EXPECT_LT(grown, 0.05 * table_bytes) << "RssAnon grew by " << grown / (1 << 20) << " MiB loading "
                                       << table_bytes / (1 << 20) << " MiB of bf16 hash tables";
  const std::vector<float> y = logits(m);  // a few hash rows read, nothing converted (any CPU)
  EXPECT_EQ(y.size(), 24u * 260);
  EXPECT_LT(static_cast<double>(rss_anon() - before), 0.05 * table_bytes) << "after a forward";
}

}  // namespace
}  // namespace blt::test
