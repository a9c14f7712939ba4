// Packed training rows against a stream rebuilt independently from epoch_order():
// rows overlap by one token, every token after the first is a target exactly once,
// BOS/EOS placement, seeded determinism, and exact resume from saved positions
// (through JSON) across epoch boundaries; then the evaluation windows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "data/packing.h"
#include "data/tokenizer.h"

namespace blt::test {
namespace {

using data::DataPosition;
using data::SequenceStream;

// Documents of varied sizes: single bytes, some longer than the rows, all 256 byte values.
data::Corpus make_corpus(int n_docs, uint64_t seed) {
  Rng rng(seed);
  data::Corpus c;
  for (int i = 0; i < n_docs; ++i) {
    std::string d(1 + rng.below(i % 4 == 0 ? 40 : 9), '\0');
    for (char& ch : d) ch = static_cast<char>(rng.below(256));
    c.add(d);
  }
  return c;
}

// The stream of `n_epochs` epochs, built from the definition.
std::vector<int32_t> expected_stream(const data::Corpus& c, uint64_t seed, int64_t n_epochs) {
  std::vector<int32_t> s;
  for (int64_t e = 0; e < n_epochs; ++e)
    for (int64_t d : data::epoch_order(static_cast<int64_t>(c.size()), seed, e)) {
      const auto ids = data::encode(c.doc(static_cast<size_t>(d)), true, true);
      s.insert(s.end(), ids.begin(), ids.end());
    }
  return s;
}

// Index in expected_stream() of the token at position p.
int64_t absolute(const data::Corpus& c, uint64_t seed, const DataPosition& p) {
  const auto order = data::epoch_order(static_cast<int64_t>(c.size()), seed, p.epoch);
  int64_t at = p.epoch * static_cast<int64_t>(c.bytes.size() + 2 * c.size()) + p.offset;
  for (int64_t i = 0; i < p.doc; ++i)
    at += c.doc_size(static_cast<size_t>(order[static_cast<size_t>(i)])) + 2;
  return at;
}

TEST(EpochOrder, PermutationDeterministicAndSeedDependent) {
  const auto a = data::epoch_order(100, 5, 0);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(100);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  EXPECT_NE(a, iota);
  EXPECT_EQ(a, data::epoch_order(100, 5, 0));
  EXPECT_NE(a, data::epoch_order(100, 5, 1));
  EXPECT_NE(a, data::epoch_order(100, 6, 0));
  EXPECT_EQ(data::epoch_order(1, 5, 3), std::vector<int64_t>{0});
}

TEST(SequenceStream, RowsMatchTheDefinitionAcrossEpochs) {
  const data::Corpus c = make_corpus(23, 1);
  for (int64_t L : {1, 7, 64, 1000}) {
    SequenceStream s(c, L, 42);
    EXPECT_EQ(s.tokens_per_epoch(), static_cast<int64_t>(c.bytes.size() + 2 * c.size()));
    const int64_t batch = 3;
    const int64_t n_epochs = 3 + 2 * batch * L / s.tokens_per_epoch();  // at least a few batches
    const auto expect = expected_stream(c, 42, n_epochs + 1);
    const int64_t n_batches = n_epochs * s.tokens_per_epoch() / (batch * L);
    std::vector<int32_t> tokens, prev_row;
    std::vector<int> target_count(expect.size(), 0);
    int64_t row_index = 0;
    for (int64_t b = 0; b < n_batches; ++b) {
      s.next_batch(batch, tokens);
      ASSERT_EQ(tokens.size(), static_cast<size_t>(batch * (L + 1)));
      for (int64_t r = 0; r < batch; ++r, ++row_index) {
        const std::vector<int32_t> row(tokens.begin() + r * (L + 1), tokens.begin() + (r + 1) * (L + 1));
        // Row k is stream[k·L, k·L + L + 1).
        const std::vector<int32_t> want(expect.begin() + row_index * L,
                                        expect.begin() + row_index * L + L + 1);
        ASSERT_EQ(row, want) << "L=" << L << " row " << row_index;
        if (!prev_row.empty()) {
          ASSERT_EQ(row.front(), prev_row.back()) << "rows overlap by one token";
        }
        prev_row = row;
        for (int64_t k = 1; k <= L; ++k) ++target_count[static_cast<size_t>(row_index * L + k)];
      }
      // The position is where the next row starts.
      ASSERT_EQ(absolute(c, 42, s.position()), row_index * L);
      ASSERT_DOUBLE_EQ(s.epochs_done(),
                       static_cast<double>(row_index * L) / static_cast<double>(s.tokens_per_epoch()));
    }
    // Every token after the first is a target exactly once, in every complete epoch.
    const int64_t covered = row_index * L;
    EXPECT_EQ(target_count[0], 0);
    for (int64_t i = 1; i <= covered; ++i) ASSERT_EQ(target_count[static_cast<size_t>(i)], 1) << i;
    EXPECT_GT(covered, n_epochs * s.tokens_per_epoch() - batch * L) << "L=" << L;
  }
}

TEST(SequenceStream, BosEosPlacement) {
  const data::Corpus c = make_corpus(11, 2);
  SequenceStream s(c, 16, 3);
  std::vector<int32_t> stream, tokens;
  for (int b = 0; b < 20; ++b) {
    s.next_batch(2, tokens);
    for (int r = 0; r < 2; ++r)
      stream.insert(stream.end(), tokens.begin() + r * 17 + (stream.empty() ? 0 : 1),
                    tokens.begin() + (r + 1) * 17);
  }
  ASSERT_EQ(stream[0], data::kBosId);
  std::vector<std::string> epoch_docs;
  for (size_t i = 0; i < stream.size(); ++i) {
    if (stream[i] == data::kBosId && i > 0) {
      EXPECT_EQ(stream[i - 1], data::kEosId) << i;
    }
    if (stream[i] == data::kEosId && i + 1 < stream.size()) {
      EXPECT_EQ(stream[i + 1], data::kBosId) << i;
    }
  }
  // Between a BOS and the next EOS: a whole document; each epoch holds every document once.
  size_t i = 0;
  int64_t complete = 0;
  while (true) {
    const size_t eos =
        std::find(stream.begin() + static_cast<std::ptrdiff_t>(i), stream.end(), data::kEosId) -
        stream.begin();
    if (eos == stream.size()) break;
    epoch_docs.push_back(data::decode(std::span(stream).subspan(i + 1, eos - i - 1)));
    i = eos + 1;
    if (epoch_docs.size() == c.size()) {
      std::vector<std::string> all;
      for (size_t d = 0; d < c.size(); ++d) all.emplace_back(c.doc(d));
      std::sort(all.begin(), all.end());
      std::sort(epoch_docs.begin(), epoch_docs.end());
      EXPECT_EQ(epoch_docs, all);
      epoch_docs.clear();
      ++complete;
    }
  }
  EXPECT_GE(complete, 2);
}

TEST(SequenceStream, SeedDeterminism) {
  const data::Corpus c = make_corpus(30, 3);
  SequenceStream a(c, 13, 9), b(c, 13, 9), other(c, 13, 10);
  std::vector<int32_t> ta, tb, to;
  bool differs = false;
  for (int i = 0; i < 50; ++i) {
    a.next_batch(4, ta);
    b.next_batch(4, tb);
    other.next_batch(4, to);
    ASSERT_EQ(ta, tb);
    differs = differs || ta != to;
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(a.order(), other.order());
}

TEST(SequenceStream, ExactResumeFromSavedPositions) {
  const data::Corpus c = make_corpus(17, 4);
  const int64_t L = 12, B = 3;
  SequenceStream a(c, L, 77);
  // 6 epochs' worth of batches, remembering the position before each.
  const int64_t n_batches = 6 * a.tokens_per_epoch() / (B * L);
  std::vector<std::vector<int32_t>> batches(static_cast<size_t>(n_batches));
  std::vector<nlohmann::json> saved(static_cast<size_t>(n_batches));
  std::vector<int64_t> boundary_batches;
  for (int64_t i = 0; i < n_batches; ++i) {
    saved[static_cast<size_t>(i)] = a.position();  // through JSON, as a checkpoint stores it
    const int64_t epoch_before = a.position().epoch;
    a.next_batch(B, batches[static_cast<size_t>(i)]);
    if (a.position().epoch != epoch_before) boundary_batches.push_back(i);
  }
  ASSERT_GE(boundary_batches.size(), 4u);
  std::vector<int64_t> checkpoints = {0, 1, n_batches / 2, n_batches - 2};
  for (int64_t i : boundary_batches) {  // just before, at and just after each epoch change
    checkpoints.push_back(i);
    checkpoints.push_back(i + 1);
  }
  for (int64_t start : checkpoints) {
    if (start >= n_batches) continue;
    const auto p = saved[static_cast<size_t>(start)].get<DataPosition>();
    SequenceStream fresh(c, L, 77);
    fresh.seek(p);
    EXPECT_EQ(fresh.position(), p);
    std::vector<int32_t> t;
    for (int64_t i = start; i < std::min(n_batches, start + 25); ++i) {
      fresh.next_batch(B, t);
      ASSERT_EQ(t, batches[static_cast<size_t>(i)]) << "resumed at batch " << start << ", batch " << i;
    }
  }
  // Positions exactly on an epoch boundary, and on the last token (EOS) of an epoch.
  const auto expect = expected_stream(c, 77, 4);
  const int64_t n = static_cast<int64_t>(c.size());
  const int64_t last_len = c.doc_size(static_cast<size_t>(data::epoch_order(n, 77, 1).back()));
  for (const DataPosition p :
       {DataPosition{2, 0, 0}, DataPosition{1, n - 1, last_len + 1}, DataPosition{0, 3, 1}}) {
    SequenceStream s(c, L, 77);
    s.seek(p);
    std::vector<int32_t> t;
    s.next_batch(B, t);
    const int64_t at = absolute(c, 77, p);
    for (int64_t r = 0; r < B; ++r)
      for (int64_t k = 0; k <= L; ++k)
        ASSERT_EQ(t[static_cast<size_t>(r * (L + 1) + k)], expect[static_cast<size_t>(at + r * L + k)]);
  }
}

TEST(SequenceStream, InvalidArgumentsAndPositions) {
  const data::Corpus c = make_corpus(5, 5);
  EXPECT_THROW(SequenceStream(c, 0, 1), Error);
  EXPECT_THROW(SequenceStream(data::Corpus{}, 8, 1), Error);
  SequenceStream s(c, 8, 1);
  EXPECT_THROW(s.seek(DataPosition{0, 5, 0}), Error);
  EXPECT_THROW(s.seek(DataPosition{-1, 0, 0}), Error);
  const int64_t len = c.doc_size(static_cast<size_t>(s.order()[0]));
  EXPECT_THROW(s.seek(DataPosition{0, 0, len + 2}), Error);
  EXPECT_NO_THROW(s.seek(DataPosition{0, 0, len + 1}));
  std::vector<int32_t> t;
  EXPECT_THROW(s.next_batch(0, t), Error);
  std::vector<int32_t> short_row(5);
  EXPECT_THROW(s.next_row(short_row), ShapeError);

  const nlohmann::json j = DataPosition{3, 2, 1};
  EXPECT_EQ(j, nlohmann::json::parse(R"({"epoch": 3, "doc": 2, "offset": 1})"));
  EXPECT_THROW(nlohmann::json::parse(R"({"epoch": 3, "doc": 2})").get<DataPosition>(), ConfigError);
  EXPECT_THROW(nlohmann::json::parse(R"({"epoch": 3, "doc": "2", "offset": 0})").get<DataPosition>(),
               ConfigError);
}

TEST(EvalWindows, DocumentsInOrderCutIntoWindows) {
  data::Corpus c;
  for (const std::string d : {"a", "", "hello world, this is longer", "0123456789", "xy"}) c.add(d);
  for (int64_t M : {1, 4, 11, 100}) {
    data::EvalWindows w(c, M);
    data::EvalWindow win;
    int64_t n_windows = 0, n_targets = 0;
    for (size_t d = 0; d < c.size(); ++d) {
      std::vector<int32_t> y_all;
      int64_t start = 0;
      while (true) {
        ASSERT_TRUE(w.next(win));
        ++n_windows;
        EXPECT_EQ(win.doc, static_cast<int64_t>(d));
        EXPECT_EQ(win.start, start);
        EXPECT_GE(win.n_targets(), 1);
        EXPECT_LE(win.n_targets(), M);
        if (start == 0) {
          EXPECT_EQ(win.x()[0], data::kBosId);
        }
        for (int64_t k = 0; k + 1 < win.n_targets(); ++k) EXPECT_EQ(win.x()[k + 1], win.y()[k]);
        y_all.insert(y_all.end(), win.y().begin(), win.y().end());
        n_targets += win.n_targets();
        start += win.n_targets();
        if (win.last) break;
        EXPECT_EQ(win.n_targets(), M);
      }
      // y over the document's windows = bytes + [EOS]
      EXPECT_EQ(y_all, data::encode(c.doc(d), false, true)) << "M=" << M << " doc " << d;
    }
    EXPECT_FALSE(w.next(win));
    EXPECT_EQ(n_windows, w.n_windows());
    EXPECT_EQ(n_targets, w.n_targets());
    EXPECT_EQ(n_targets, static_cast<int64_t>(c.bytes.size() + c.size()));
    w.reset();
    ASSERT_TRUE(w.next(win));
    EXPECT_EQ(win.doc, 0);
  }
  // A short document: x = [BOS] + bytes, y = bytes + [EOS].
  data::EvalWindows w(c, 100);
  data::EvalWindow win;
  w.next(win);
  EXPECT_EQ(std::vector<int32_t>(win.x().begin(), win.x().end()), data::encode("a", true, false));
  EXPECT_EQ(std::vector<int32_t>(win.y().begin(), win.y().end()), data::encode("a", false, true));
  EXPECT_THROW(data::EvalWindows(c, 0), Error);
}

}  // namespace
}  // namespace blt::test
