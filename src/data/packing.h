// Training sequences and evaluation windows over an in-memory Corpus.
// Training: every epoch lists the documents in a permutation derived from (seed, epoch)
// only, wraps each as [BOS] + bytes+4 + [EOS], and the epochs are concatenated into one
// endless token stream. Rows of seq_len+1 tokens are cut with stride seq_len (row k+1
// starts at the last token of row k), so x = row[0:seq_len], y = row[1:seq_len+1] and every
// stream token after the very first is a target exactly once; rows may straddle documents
// and epochs, and nothing is padded or dropped. The position (epoch, document, offset) of
// the next row's first token is the whole state, so seek() resumes exactly.
// The same holds over a TokenCorpus (documents already tokenized, e.g. by the
// BPE baseline's tokenizer): [BOS] + ids + [EOS], in the same document order.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <vector>

#include "data/documents.h"

namespace blt::data {

// Token documents (e.g. SentencePiece ids): document i is ids[offsets[i], offsets[i+1]), wrapped for
// training and evaluation as [BOS] + ids + [EOS]; bytes[i] is how many bytes of text it covers.
struct TokenCorpus {
  std::vector<int32_t> ids;
  std::vector<int64_t> offsets{0};
  std::vector<int64_t> bytes;

  size_t size() const { return offsets.size() - 1; }
  int64_t doc_size(size_t i) const { return offsets[i + 1] - offsets[i]; }
  int64_t n_bytes() const;  // Σ bytes
};

// Where the next training row starts: token `offset` of the `doc`-th document (in epoch
// `epoch`'s order), counted in the wrapped document [BOS] + bytes + [EOS].
struct DataPosition {
  int64_t epoch = 0;   // e.g. 3
  int64_t doc = 0;     // index into the epoch's document order, e.g. 1207
  int64_t offset = 0;  // 0 = the BOS, bytes+1 = the EOS
  bool operator==(const DataPosition&) const = default;
};
// {"epoch": 3, "doc": 1207, "offset": 96}; a missing or mistyped field is a ConfigError.
void to_json(nlohmann::json& j, const DataPosition& p);
void from_json(const nlohmann::json& j, DataPosition& p);

// n documents -> the order epoch `epoch` visits them in (a permutation of 0..n-1, Fisher-Yates
// driven by an Rng seeded from a hash of (seed, epoch)).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

class SequenceStream {
 public:
  // `corpus` must outlive the stream. seq_len >= 1; the corpus must hold a document.
  SequenceStream(const Corpus& corpus, int64_t seq_len, uint64_t seed);
  // The same over token documents (no side values): a document's tokens are [BOS] + ids + [EOS].
  SequenceStream(const TokenCorpus& corpus, int64_t seq_len, uint64_t seed);

  // tokens (batch, seq_len+1), row-major; resized to fit. With side values attached, `side`
  // (batch, seq_len+1) receives the value of every token alongside.
  void next_batch(int64_t batch, std::vector<int32_t>& tokens, std::vector<float>* side = nullptr);
  // row (seq_len+1): the next row (and its side values, when attached and `side` is given).
  void next_row(std::span<int32_t> row, std::span<float> side = {});

  // Attaches one value per stream token in corpus order: document d's wrapped tokens
  // [BOS] + bytes + [EOS] at [offsets[d] + 2d, offsets[d+1] + 2d + 2) (e.g. cached entropies).
  // `values` must outlive the stream and hold bytes + 2·documents floats.
  void attach_side(std::span<const float> values);

  DataPosition position() const { return pos_; }
  // After seek(p) the stream continues exactly as it did from position p. A position that
  // does not fit this corpus (document or offset out of range) throws blt::Error.
  void seek(const DataPosition& p);

  int64_t seq_len() const { return seq_len_; }
  bool has_side() const { return !side_.empty(); }
  int64_t n_documents() const { return n_docs_; }
  // Σ (bytes + 2) over the documents: the length of one epoch of the stream.
  int64_t tokens_per_epoch() const { return tokens_per_epoch_; }
  // Epochs completed, with the fraction of the current one (for logs).
  double epochs_done() const;
  // The document order of the current epoch.
  const std::vector<int64_t>& order() const { return order_; }

 private:
  // Over c (bytes) or t (ids), of n_tokens bytes or ids in all.
  SequenceStream(const Corpus* c, const TokenCorpus* t, int64_t n_tokens, int64_t seq_len, uint64_t seed);
  int64_t doc_len(int64_t d) const;    // document d's ids or bytes, without BOS/EOS
  int32_t token(int64_t d, int64_t k) const;  // token k of wrapped document d
  int32_t peek() const;                // token at pos_
  // n tokens (and side values, if `side`) from pos_ on, advancing pos_
  void read(int32_t* out, float* side, int64_t n);
  int64_t side_index(int64_t doc, int64_t offset) const;  // into side_

  const Corpus* corpus_ = nullptr;      // byte documents, or
  const TokenCorpus* tokens_ = nullptr;  // token documents
  int64_t n_docs_ = 0;
  std::span<const float> side_;
  int64_t seq_len_;
  uint64_t seed_;
  int64_t tokens_per_epoch_ = 0;
  std::vector<int64_t> order_;  // order of pos_.epoch
  DataPosition pos_;
  int64_t done_in_epoch_ = 0;  // stream tokens of this epoch before pos_
};

// One evaluation window of one document: tokens (n+1) with x = tokens[0:n] and
// y = tokens[1:n+1], cut from the document's [BOS] + bytes + [EOS] starting at `start`.
struct EvalWindow {
  int64_t doc = 0;    // index in the corpus
  int64_t start = 0;  // position of x[0] in the wrapped document; a multiple of max_seqlen
  bool last = true;   // the document's last window
  std::vector<int32_t> tokens;

  int64_t n_targets() const { return static_cast<int64_t>(tokens.size()) - 1; }
  std::span<const int32_t> x() const { return std::span(tokens).first(tokens.size() - 1); }
  std::span<const int32_t> y() const { return std::span(tokens).subspan(1); }
};

// Evaluation (BPB) windows, unshuffled: documents in corpus order, each evaluated on its own
// with x = [BOS] + bytes and y = bytes + [EOS]. A document with more than max_seqlen targets is
// cut into consecutive windows of max_seqlen targets; each window restarts the context (its x
// begins inside the document, without BOS). The windows' y together are exactly each
// document's bytes + [EOS], so BPB = Σ NLL(y) / ln 2 / n_targets().
class EvalWindows {
 public:
  // `corpus` must outlive this. max_seqlen >= 1.
  EvalWindows(const Corpus& corpus, int64_t max_seqlen);
  // The same over token documents: y = ids + [EOS] (n_targets() counts tokens, not bytes).
  EvalWindows(const TokenCorpus& corpus, int64_t max_seqlen);

  // The next window into `w`; false after the last one.
  bool next(EvalWindow& w);
  void reset() {
    doc_ = 0;
    start_ = 0;
  }

  int64_t n_windows() const;  // Σ ceil((bytes + 1) / max_seqlen)
  int64_t n_targets() const;  // Σ (bytes + 1)

 private:
  int64_t doc_len(int64_t d) const;
  const Corpus* corpus_ = nullptr;
  const TokenCorpus* tokens_ = nullptr;
  int64_t n_docs_ = 0;
  int64_t max_seqlen_;
  int64_t doc_ = 0;
  int64_t start_ = 0;
};

}  // namespace blt::data
