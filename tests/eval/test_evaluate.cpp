// eval::evaluate (BPB) against a computation by hand: every document's
// [BOS] + bytes + [EOS] is cut here into windows of max_encoder_seq_length
// targets, each window patched (space mode, include_next_token) and run
// through the BLT, and the per-byte NLL is taken from the logits with a
// log-softmax in double. The sum over all targets / ln 2 / targets is the
// BPB evaluate reports; the patch count and mean patch size match too, and
// max_targets stops after that many targets; a window with more patches than
// max_seqlen is evaluated in pieces that fit, each as a window of its own.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "eval/evaluate.h"
#include "patching/patcher.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

struct Hand {
  double nll = 0;  // nats, summed over targets
  int64_t targets = 0, patches = 0, length_sum = 0;
};

// One window x (N) -> y (N): the model's NLL of y in double, and the window's patches.
void add_window(const modeldir::BltModel& m, std::span<const int32_t> x, std::span<const int32_t> y, Hand& h) {
  const int64_t N = static_cast<int64_t>(x.size());
  const std::vector<int32_t> lengths = patching::patch_lengths(m.patcher, x, {}, true);
  const auto layout =
      patching::make_patch_layout(x, lengths, 1, N, static_cast<int64_t>(lengths.size()), m.args.eos_id);
  Graph g;
  g.set_recording(false);
  const Var logits = m.model->forward(g, x, layout);
  const int64_t V = logits.value.shape()[2];
  const float* z = logits.value.data<float>();
  for (int64_t t = 0; t < N; ++t) {
    double mx = z[t * V];
    for (int64_t v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(z[t * V + v]));
    double se = 0;
    for (int64_t v = 0; v < V; ++v) se += std::exp(z[t * V + v] - mx);
    h.nll += mx + std::log(se) - z[t * V + y[t]];
  }
  h.targets += N;
  for (int32_t l : lengths) {
    h.length_sum += l;
    h.patches += l > 0;
  }
}

// Every document's windows of `window` targets, each cut into consecutive pieces of `piece` targets (the
// last of each shorter), every piece run as a window of its own.
Hand by_hand(const modeldir::BltModel& m, const std::vector<std::string>& docs, int64_t window,
             int64_t piece) {
  Hand h;
  for (const std::string& d : docs) {
    const std::vector<int32_t> tok = data::encode(d, true, true);  // [BOS] + bytes + [EOS]
    const int64_t targets = static_cast<int64_t>(tok.size()) - 1;
    for (int64_t start = 0; start < targets; start += window) {
      const int64_t end = std::min(start + window, targets);
      for (int64_t p = start; p < end; p += piece) {
        const int64_t n = std::min(piece, end - p);
        add_window(m, std::span(tok).subspan(p, n), std::span(tok).subspan(p + 1, n), h);
      }
    }
  }
  return h;
}

// The tiny BLT with windows of 32 targets, patched in `mode`, its global model taking max_seqlen patches.
modeldir::BltModel patched_blt(patching::PatchingMode mode, int64_t max_seqlen) {
  model::BltArgs a = tiny_blt_args(TinyBlt{.seq = 32});
  a.patching_mode = patching::to_string(mode);
  a.max_seqlen = max_seqlen;
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = mode;
  modeldir::BltModel m = modeldir::BltModel::create(a, pa);
  Rng rng(8);
  m.params->initialize(rng);
  return m;
}

// Documents of one, two and three windows of 32 targets (the last window of each shorter).
const std::vector<std::string> kDocs = {"In the beginning.", "And the earth was without form, and",
                                        "And God said, Let there be light: and there was light. And God saw it."};

data::Corpus corpus_of(const std::vector<std::string>& docs) {
  data::Corpus c;
  for (const auto& d : docs) c.add(d);
  return c;
}

// eval::evaluate over the windows of `c`, at most max_targets targets (0: all).
eval::EvalResult evaluate_corpus(const modeldir::BltModel& m, const data::Corpus& c, int64_t max_targets) {
  patching::RowPatcher patcher(m.patcher, nullptr, m.args.eos_id);
  data::EvalWindows windows(c, m.args.max_encoder_seq_length);
  return eval::evaluate(m, patcher, windows, max_targets);
}

TEST(Evaluate, BitsPerByteEqualTheHandComputation) {
  const modeldir::BltModel m = patched_blt(patching::PatchingMode::Space, 32);
  const data::Corpus c = corpus_of(kDocs);
  EXPECT_EQ(data::EvalWindows(c, m.args.max_encoder_seq_length).n_windows(), 1 + 2 + 3);
  const eval::EvalResult r = evaluate_corpus(m, c, 0);
  const Hand h = by_hand(m, kDocs, 32, 32);
  ASSERT_EQ(r.n_positions, h.targets);
  EXPECT_EQ(h.targets, static_cast<int64_t>(c.bytes.size() + kDocs.size()));  // bytes + one EOS each
  EXPECT_NEAR(r.bpb, h.nll / std::log(2.0) / static_cast<double>(h.targets), 1e-5 * r.bpb);
  EXPECT_GT(r.bpb, 1.0);  // an untrained model: several bits per byte
  EXPECT_EQ(r.n_patches, h.patches);
  EXPECT_EQ(r.mean_patch_size, static_cast<double>(h.length_sum) / static_cast<double>(h.patches));
}

TEST(Evaluate, MaxTargetsStopsInsideAWindow) {
  const modeldir::BltModel m = patched_blt(patching::PatchingMode::Space, 32);
  // The first document (18 targets) and 10 targets of the second.
  const eval::EvalResult r = evaluate_corpus(m, corpus_of(kDocs), 28);
  EXPECT_EQ(r.n_positions, 28);
  Hand h = by_hand(m, {kDocs[0]}, 32, 32);
  const std::vector<int32_t> tok = data::encode(kDocs[1], true, true);
  add_window(m, std::span(tok).first(10), std::span(tok).subspan(1, 10), h);
  EXPECT_NEAR(r.bpb, h.nll / std::log(2.0) / 28.0, 1e-5 * r.bpb);
}

// Byte patching (a piece of n bytes has n+1 patches, the next-byte patch included) with max_seqlen 8 under
// windows of 32 targets: every window has more patches than the global model takes, so it is evaluated in
// consecutive pieces of 7 bytes (the last shorter), each patched and run as a window of its own.
TEST(Evaluate, WindowsWithMorePatchesThanMaxSeqlenAreEvaluatedInPieces) {
  const modeldir::BltModel m = patched_blt(patching::PatchingMode::Byte, 8);
  const data::Corpus c = corpus_of(kDocs);
  const eval::EvalResult r = evaluate_corpus(m, c, 0);
  EXPECT_EQ(r.n_positions, static_cast<int64_t>(c.bytes.size() + kDocs.size()));  // every target once
  EXPECT_EQ(r.window_nll.size(), 1u + 2 + 3);
  const Hand h = by_hand(m, kDocs, 32, 7);
  ASSERT_EQ(r.n_positions, h.targets);
  EXPECT_NEAR(r.bpb, h.nll / std::log(2.0) / static_cast<double>(h.targets), 1e-5 * r.bpb);
  EXPECT_EQ(r.n_patches, h.patches);
  EXPECT_EQ(r.length_sum, h.length_sum);
}

}  // namespace
}  // namespace blt::test
