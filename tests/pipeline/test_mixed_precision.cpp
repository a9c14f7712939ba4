// Mixed-precision training (bf16 matmul inputs, float32 master weights): a
// tiny BLT and a tiny byte LM trained the same steps from the same seed in
// bf16 and in fp32 reach validation BPB within 1% of each other, and the
// metrics lines say which precision ran; also at head dims where attention's
// forward and backward run on the bf16 kernels (ops/attention_kernels.h).
// Skipped visibly on a CPU without bf16 matmuls.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "blas/gemm_bf16.h"
#include "data/documents.h"
#include "io/temp_dir.h"
#include "ops/attention_kernels.h"
#include "pipeline/blt_task.h"
#include "pipeline/entropy_task.h"
#include "support/tiny_models.h"
#include "train/trainer.h"

namespace blt::test {
namespace {

constexpr int64_t kSeq = 64;

struct Outcome {
  double valid_bpb = 0;
  std::string precision;  // of the last metrics line
};

// Trains `task` (over `reg`, freshly initialised from seed 5) for 80 steps on the sample training text and
// validates on 2 KB of the sample validation text.
Outcome train(train::TrainTask& task, nn::ParamRegistry& reg, Precision p) {
  const data::Corpus corpus = data::load_corpus({"data/sample/train.txt"});
  Rng init(5);
  reg.initialize(init);
  if (p == Precision::BF16) reg.enable_bf16_mirror();
  train::TrainerConfig cfg;
  cfg.steps = 80;
  cfg.batch = 4;
  cfg.seq_len = kSeq;
  cfg.adam.lr = 3e-3;
  cfg.warmup = 10;
  cfg.log_every = 1000;
  cfg.eval_every = cfg.save_every = 0;  // validation and a checkpoint at the end only
  data::SequenceStream stream(corpus, kSeq, 9);
  TempDir out;
  train::Trainer t(cfg, task, stream, out.path().string());
  std::atomic<bool> stop{false};
  Outcome o;
  t.run(stop, [&](const train::StepReport& r) {
    if (r.valid_bpb) o.valid_bpb = *r.valid_bpb;
  });
  std::ifstream in(out.path() / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) o.precision = nlohmann::json::parse(line).at("precision");
  return o;
}

Outcome train_blt_dims(Precision p, const data::Corpus& valid, const TinyBlt& dims) {
  model::BltArgs a = tiny_blt_args(dims);
  a.patching_mode = "space";
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Space;
  modeldir::BltModel m = modeldir::BltModel::create(a, pa, DType::F32, true);
  pipeline::BltTask task(m, &valid, 2048);
  return train(task, *m.params, p);
}

Outcome train_byte_lm_args(Precision p, const data::Corpus& valid, const lm::LMTransformerArgs& args) {
  modeldir::EntropyModel m = modeldir::EntropyModel::create(args, {}, DType::F32, true);
  pipeline::EntropyTask task(m, &valid, 2048);
  return train(task, *m.params, p);
}

// Head dims 8: attention stays fp32 at either precision.
Outcome train_blt(Precision p, const data::Corpus& valid) {
  return train_blt_dims(p, valid, {.seq = kSeq});
}
Outcome train_byte_lm(Precision p, const data::Corpus& valid) {
  return train_byte_lm_args(p, valid, tiny_lm_args(kSeq, 32));
}

// Head dims 16 (local encoder and decoder, cross attention over 64 bytes) and 32 (the LM): the bf16
// attention kernels run forward and backward.
constexpr TinyBlt kBf16AttentionBlt{.dim_local = 32, .dim_global = 64, .seq = kSeq};
lm::LMTransformerArgs bf16_attention_lm() {
  lm::LMTransformerArgs a = tiny_lm_args(kSeq, 32);
  a.dim = 64;
  a.n_heads = a.n_kv_heads = 2;
  return a;
}
Outcome train_blt_bf16_attention(Precision p, const data::Corpus& valid) {
  return train_blt_dims(p, valid, kBf16AttentionBlt);
}
Outcome train_byte_lm_bf16_attention(Precision p, const data::Corpus& valid) {
  return train_byte_lm_args(p, valid, bf16_attention_lm());
}

// Whether a bf16 attention backward takes rows of `heads` heads of head dim Dh (batch 4, kSeq positions).
bool bf16_attention_runs(int64_t heads, int64_t Dh) {
  const ops::AttnDims d{4, kSeq, kSeq, heads, heads, Dh, 1.0};
  return ops::detail::use_attention_amx(d) || ops::detail::use_attention_avx512bf16_backward(d);
}

void expect_bf16_trains_as_fp32(Outcome (*run)(Precision, const data::Corpus&), const char* what) {
  const data::Corpus valid = data::load_corpus({"data/sample/valid.txt"});
  const Outcome fp32 = run(Precision::F32, valid), bf16 = run(Precision::BF16, valid);
  EXPECT_EQ(fp32.precision, "fp32");
  EXPECT_EQ(bf16.precision, "bf16");
  // Untrained, a model is near 8 bits per byte: it must have learnt for the comparison to mean anything.
  EXPECT_LT(fp32.valid_bpb, 6.0) << what;
  EXPECT_NEAR(bf16.valid_bpb, fp32.valid_bpb, 0.01 * fp32.valid_bpb) << what;
  std::cerr << what << ": validation bpb fp32 " << fp32.valid_bpb << ", bf16 " << bf16.valid_bpb << "\n";
}

TEST(MixedPrecision, TinyBltTrainsInBf16AsInFp32) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  expect_bf16_trains_as_fp32(train_blt, "tiny BLT");
}

TEST(MixedPrecision, TinyByteLmTrainsInBf16AsInFp32) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  expect_bf16_trains_as_fp32(train_byte_lm, "tiny byte LM");
}

TEST(MixedPrecision, WithBf16AttentionKernelsTrainsAsFp32) {
  if (!bf16_attention_runs(2, 16) || !bf16_attention_runs(2, 32))
    GTEST_SKIP() << "no bf16 attention backward runs on this CPU";
  expect_bf16_trains_as_fp32(train_blt_bf16_attention, "tiny BLT, bf16 attention");
  expect_bf16_trains_as_fp32(train_byte_lm_bf16_attention, "tiny byte LM, bf16 attention");
}

}  // namespace
}  // namespace blt::test
