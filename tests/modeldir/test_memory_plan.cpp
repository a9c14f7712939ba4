// The memory plan: a configuration inside every per-field and per-tensor limit that
// still needs far more memory than a machine has is refused by BltModel::create and
// EntropyModel::create before anything is allocated (the peak RSS does not move),
// naming the field and the figures; tiny configurations pass; the estimate's terms.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "modeldir/blt_model.h"
#include "modeldir/memory_plan.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

using modeldir::check_memory;
using modeldir::plan_memory;

// Peak resident set size of this process (VmHWM) in bytes, after resetting it when the kernel allows.
int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

template <class F>
std::string config_error_of(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

// dim_global 65536 with one layer: every field, every weight tensor (<= 2^34 elements) and the total
// (<= 2^36 parameters) are inside the parser's limits, yet the parameters are 5.2e10 (192 GiB in f32;
// trained in f64 with gradients and AdamW moments, 1.1 TiB).
model::BltArgs huge_global() {
  model::BltArgs a = tiny_blt_args();
  a.dim_global = 65536;
  a.validate("huge");
  return a;
}

TEST(MemoryPlan, HugeBltIsRefusedBeforeAllocating) {
  const model::BltArgs a = huge_global();
  reset_peak_rss();
  const int64_t before = peak_rss_bytes();
  const std::string msg = config_error_of(
      [&] { modeldir::BltModel::create(a, patching::PatcherArgs{}, DType::F64, /*trainable=*/true); });
  EXPECT_LT(peak_rss_bytes() - before, int64_t{64} << 20);  // nothing was allocated
  for (const char* part :
       {"the BLT configuration: dim_global 65536, n_layers_global 1: the model needs ", " TiB",
        "the global transformer's parameters, gradients and AdamW moments", "this machine has "})
    EXPECT_NE(msg.find(part), std::string::npos) << part << "\n" << msg;
}

TEST(MemoryPlan, HugeEntropyModelIsRefusedBeforeAllocating) {
  lm::LMTransformerArgs a = tiny_lm_args();
  a.dim = 65536;
  a.n_heads = a.n_kv_heads = 2;
  a.n_layers = 1;
  a.validate("huge");
  reset_peak_rss();
  const int64_t before = peak_rss_bytes();
  const std::string msg = config_error_of(
      [&] { modeldir::EntropyModel::create(a, patching::PatcherArgs{}, DType::F64, /*trainable=*/true); });
  EXPECT_LT(peak_rss_bytes() - before, int64_t{64} << 20);
  EXPECT_NE(msg.find("the entropy model configuration: dim 65536, n_layers 1: the model needs "),
            std::string::npos)
      << msg;
}

TEST(MemoryPlan, TinyModelsPass) {
  EXPECT_NO_THROW(modeldir::BltModel::create(tiny_blt_args(), patching::PatcherArgs{}, DType::F32, true));
  EXPECT_NO_THROW(modeldir::EntropyModel::create(tiny_lm_args(), patching::PatcherArgs{}));
  EXPECT_GT(modeldir::machine_memory_bytes(), double{1 << 30});
}

TEST(MemoryPlan, FiguresAndTheNamedField) {
  // Inference in f32 of the huge config: the global transformer's 5.15e10 parameters x 4 bytes dominate
  // (attention 4·D², FFN 3·D·F, norms 2·D + D, the patch projection 32·D).
  const modeldir::MemoryPlan p = plan_memory(huge_global(), DType::F32);
  EXPECT_EQ(p.largest().field, "dim_global 65536, n_layers_global 1");
  EXPECT_NEAR(p.largest().bytes, 4.0 * (4.0 * 65536 * 65536 + 3.0 * 65536 * 174768 + 3 * 65536 + 65536 * 32),
              1e3);
  const std::string msg = config_error_of([&] { check_memory(p, "cfg", 25.0 * (1 << 30)); });
  EXPECT_NE(
      msg.find("cfg: dim_global 65536, n_layers_global 1: the model needs 192.0 GiB, 192.0 GiB of it for "
               "the global transformer's parameters; this machine has 25.0 GiB"),
      std::string::npos)
      << msg;
  EXPECT_NO_THROW(check_memory(p, "cfg", 1e12));
  // Training adds gradients and two float32 moments: 4 + 4 + 8 bytes per f32 parameter.
  const modeldir::MemoryPlan t = plan_memory(huge_global(), DType::F32, {.training = true});
  EXPECT_NEAR(t.largest().bytes, 4 * p.largest().bytes, 1e6);
  // Activations grow with the batch and the sequence: B x T x L x (8·D + 3·F) floats per stack.
  lm::LMTransformerArgs lm = tiny_lm_args();
  const double none = plan_memory(lm, DType::F32).total();
  const double with =
      plan_memory(lm, DType::F32, {.training = true, .batch = 1000, .seq_len = 1 << 20}).total();
  EXPECT_GT(with - none, 1000.0 * (1 << 20) * 2 * (8 * 32 + 3 * 96) * 4);
  // A long max_seqlen makes large RoPE tables: 2^24 positions x head_dim 8 x 12 bytes.
  lm.max_seqlen = int64_t{1} << 24;
  bool found = false;
  for (const auto& item : plan_memory(lm, DType::F32).items)
    found |= item.field == "max_seqlen 16777216" && item.bytes == 16777216.0 * 8 * 12;
  EXPECT_TRUE(found);
  EXPECT_EQ(modeldir::format_bytes(512), "512 B");
  EXPECT_EQ(modeldir::format_bytes(1.5 * (1 << 20)), "1.5 MiB");
}

}  // namespace
}  // namespace blt::test
