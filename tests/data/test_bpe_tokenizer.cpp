// The BPE baseline's tokenizer and token documents: decode(encode(x)) == x
// (characters the training text never had go through byte-fallback pieces),
// deterministic training, a vocabulary the corpus cannot fill refused naming
// the option, and a token corpus streamed in the byte corpus's document order.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include "core/error.h"
#include "data/bpe_tokenizer.h"
#include "data/tokenizer.h"
#include "io/file.h"
#include "io/temp_dir.h"

namespace blt::data {
namespace {

Corpus sample_corpus(size_t bytes) {
  Corpus c;
  const std::string text = io::read_file("data/sample/train.txt").substr(0, bytes);
  c.add(text.substr(0, bytes / 2));
  c.add(text.substr(bytes / 2));
  return c;
}

TEST(BpeTokenizer, RoundTripsTextWithByteFallbackForUnseenCharacters) {
  const BpeTokenizer t = BpeTokenizer::train(sample_corpus(20000), 400, 42, "--bpe-vocab");
  EXPECT_EQ(t.vocab_size(), 400);
  const std::string seen = "In the beginning God created the heaven and the earth.\n\nAnd the earth  was";
  EXPECT_EQ(t.decode(t.encode(seen)), seen);
  EXPECT_LT(t.encode(seen).size(), seen.size());                                  // merges apply
  const std::string unseen = "caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x99\x82\ttab";  // é, €, an emoji, a tab
  const std::vector<int32_t> ids = t.encode(unseen);
  EXPECT_EQ(t.decode(ids), unseen);
  // The emoji's four bytes are four byte pieces (<0xF0> ... ), ids 3..258 after unk, bos, eos.
  int byte_pieces = 0;
  for (int32_t id : ids) byte_pieces += id >= 3 && id < 259;
  EXPECT_GE(byte_pieces, 4);
  EXPECT_EQ(t.decode(std::vector<int32_t>{kBosId, ids[0], kEosId}), t.decode(std::vector<int32_t>{ids[0]}));
}

TEST(BpeTokenizer, TrainingIsDeterministicAndSavedModelsLoad) {
  test::TempDir tmp;
  const Corpus c = sample_corpus(12000);
  BpeTokenizer::train(c, 350, 7, "--bpe-vocab").save((tmp.path() / "a.model").string());
  BpeTokenizer::train(c, 350, 7, "--bpe-vocab").save((tmp.path() / "b.model").string());
  EXPECT_EQ(io::read_file((tmp.path() / "a.model").string()),
            io::read_file((tmp.path() / "b.model").string()));
  const BpeTokenizer loaded = BpeTokenizer::load((tmp.path() / "a.model").string());
  const TokenCorpus tc = loaded.encode_corpus(c);
  ASSERT_EQ(tc.size(), 2u);
  EXPECT_EQ(tc.n_bytes(), static_cast<int64_t>(c.bytes.size()));
  EXPECT_EQ(loaded.decode(std::span(tc.ids).first(static_cast<size_t>(tc.doc_size(0)))),
            std::string(c.doc(0)));
}

TEST(BpeTokenizer, AVocabularyTheCorpusCannotFillIsRefusedNamingTheOption) {
  try {
    BpeTokenizer::train(sample_corpus(3000), 20000, 42, "--bpe-vocab");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--bpe-vocab 20000"), std::string::npos) << e.what();
  }
  EXPECT_THROW(BpeTokenizer::train(sample_corpus(3000), 100, 42, "--bpe-vocab"), ConfigError);
}

TEST(TokenCorpus, StreamsAndWindowsLikeTheByteCorpusInTheSameDocumentOrder) {
  Corpus bytes;
  TokenCorpus tokens;
  for (const std::string doc : {"ab", "cde", "f", "ghij"}) {
    bytes.add(doc);
    for (char ch : doc) tokens.ids.push_back(byte_to_id(static_cast<unsigned char>(ch)));
    tokens.offsets.push_back(static_cast<int64_t>(tokens.ids.size()));
    tokens.bytes.push_back(static_cast<int64_t>(doc.size()));
  }
  SequenceStream a(bytes, 3, 9), b(tokens, 3, 9);
  std::vector<int32_t> ra, rb;
  for (int i = 0; i < 12; ++i) {  // several epochs
    a.next_batch(2, ra);
    b.next_batch(2, rb);
    ASSERT_EQ(ra, rb) << "batch " << i;
  }
  b.seek(a.position());
  a.next_batch(1, ra);
  b.next_batch(1, rb);
  EXPECT_EQ(ra, rb);
  EvalWindows wa(bytes, 2), wb(tokens, 2);
  EXPECT_EQ(wa.n_targets(), wb.n_targets());
  EXPECT_EQ(wa.n_windows(), wb.n_windows());
  EvalWindow x, y;
  while (wa.next(x)) {
    ASSERT_TRUE(wb.next(y));
    EXPECT_EQ(x.tokens, y.tokens);
  }
  EXPECT_FALSE(wb.next(y));
}

}  // namespace
}  // namespace blt::data
