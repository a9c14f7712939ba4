// Inference in bf16 on a trained model: the bundled entropy model
// models/entropy-kjv (a byte LM trained on the KJV) evaluated with its bf16
// weight mirror gives bits per byte within 1% of float32 on held-out text,
// and differs from it (the bf16 path ran). Skipped visibly without bf16.
#include <gtest/gtest.h>

#include <filesystem>

#include "blas/gemm_bf16.h"
#include "data/documents.h"
#include "eval/lm_bpb.h"
#include "modeldir/entropy_model.h"

namespace blt::test {
namespace {

TEST(Bf16Inference, TrainedByteLmBpbWithinOnePercentOfFp32) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  if (!std::filesystem::exists("models/entropy-kjv/params.json")) GTEST_SKIP() << "no models/entropy-kjv";
  modeldir::EntropyModel m = modeldir::EntropyModel::load("models/entropy-kjv");
  const data::Corpus valid = data::load_corpus({"data/sample/valid.txt"});
  data::EvalWindows windows(valid, m.args.max_seqlen);
  const double fp32 = eval::lm_bpb(*m.model, windows, 8192);
  m.params->enable_bf16_mirror();
  const double bf16 = eval::lm_bpb(*m.model, windows, 8192);
  EXPECT_LT(fp32, 3.0) << "a trained model";
  EXPECT_NE(bf16, fp32) << "the bf16 path did not run";
  EXPECT_NEAR(bf16, fp32, 0.01 * fp32);
  std::cerr << "models/entropy-kjv on 8 KB of valid.txt: bpb fp32 " << fp32 << ", bf16 " << bf16 << "\n";
}

}  // namespace
}  // namespace blt::test
