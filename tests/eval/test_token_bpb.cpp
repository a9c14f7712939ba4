// The BPE baseline's bits per byte: Σ NLL over its tokens (each document
// [BOS] + ids -> ids + [EOS]) / ln 2 / bytes covered (+1 per document for the
// EOS, as the byte-level models count it), against a hand computation from
// the logits of each document's forward.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "data/tokenizer.h"
#include "eval/lm_bpb.h"
#include "support/tiny_models.h"

namespace blt::eval {
namespace {

TEST(TokenLmBpb, IsTheSummedTokenNllOverTheBytesCovered) {
  lm::LMTransformerArgs args = test::tiny_lm_args(16, 16);
  args.vocab_size = 300;  // a token vocabulary, not the byte one
  nn::ParamRegistry reg(DType::F32, false);
  lm::LMTransformer model(args, reg);
  reg.allocate();
  Rng rng(5);
  reg.initialize(rng);

  data::TokenCorpus docs;
  const std::vector<std::vector<int32_t>> ids = {{17, 250, 4, 99, 3}, {280, 12}};
  const std::vector<int64_t> bytes = {11, 7};  // what the pieces would cover
  for (size_t d = 0; d < ids.size(); ++d) {
    docs.ids.insert(docs.ids.end(), ids[d].begin(), ids[d].end());
    docs.offsets.push_back(static_cast<int64_t>(docs.ids.size()));
    docs.bytes.push_back(bytes[d]);
  }

  double nll = 0;
  for (const auto& doc : ids) {
    std::vector<int32_t> x = {data::kBosId}, y = doc;  // x = [BOS] + ids, y = ids + [EOS]
    x.insert(x.end(), doc.begin(), doc.end());
    y.push_back(data::kEosId);
    Graph g;
    g.set_recording(false);
    const Var logits = model.forward(g, x, 1, static_cast<int64_t>(x.size()));
    const int64_t V = args.vocab_size;
    for (size_t t = 0; t < y.size(); ++t) {
      double mx = -INFINITY, z = 0;
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, logits.value.at(static_cast<int64_t>(t) * V + v));
      for (int64_t v = 0; v < V; ++v) z += std::exp(logits.value.at(static_cast<int64_t>(t) * V + v) - mx);
      nll += mx + std::log(z) - logits.value.at(static_cast<int64_t>(t) * V + y[t]);
    }
  }
  const double expected = nll / std::log(2.0) / static_cast<double>(11 + 1 + 7 + 1);
  EXPECT_NEAR(token_lm_bpb(model, docs), expected, 1e-4 * expected);
}

}  // namespace
}  // namespace blt::eval
