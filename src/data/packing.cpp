// SequenceStream (shuffled, packed training rows with exact resume) and EvalWindows.
// A wrapped document is never materialised: its token at offset k is BOS (k = 0),
// EOS (k = bytes+1) or byte k-1 plus OFFSET, read straight from the Corpus buffer.
#include "data/packing.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "data/tokenizer.h"
#include "io/json_fields.h"

namespace blt::data {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Token k of the wrapped document `d`, of `len` bytes (or ids).
int32_t wrapped_token(const Corpus* c, const TokenCorpus* t, int64_t d, int64_t len, int64_t k) {
  if (k == 0) return kBosId;
  if (k == len + 1) return kEosId;
  if (t) return t->ids[static_cast<size_t>(t->offsets[static_cast<size_t>(d)] + k - 1)];
  return byte_to_id(static_cast<unsigned char>(c->bytes[static_cast<size_t>(c->offsets[d] + k - 1)]));
}

int64_t doc_length(const Corpus* c, const TokenCorpus* t, int64_t d) {
  return t ? t->doc_size(static_cast<size_t>(d)) : c->doc_size(static_cast<size_t>(d));
}

std::string str(const DataPosition& p) {
  return "(epoch " + std::to_string(p.epoch) + ", doc " + std::to_string(p.doc) + ", offset " +
         std::to_string(p.offset) + ")";
}

}  // namespace

int64_t TokenCorpus::n_bytes() const {
  int64_t s = 0;
  for (int64_t b : bytes) s += b;
  return s;
}

void to_json(nlohmann::json& j, const DataPosition& p) {
  j = nlohmann::json{{"epoch", p.epoch}, {"doc", p.doc}, {"offset", p.offset}};
}

void from_json(const nlohmann::json& j, DataPosition& p) {
  io::JsonFields f(j, "data position");
  f.required("epoch", p.epoch);
  f.required("doc", p.doc);
  f.required("offset", p.offset);
  f.finish();
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  Rng rng(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(epoch) ^ 0x5EEDE90C5EEDE90Cull)));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

SequenceStream::SequenceStream(const Corpus& corpus, int64_t seq_len, uint64_t seed)
    : SequenceStream(&corpus, nullptr, static_cast<int64_t>(corpus.bytes.size()), seq_len, seed) {}

SequenceStream::SequenceStream(const TokenCorpus& corpus, int64_t seq_len, uint64_t seed)
    : SequenceStream(nullptr, &corpus, static_cast<int64_t>(corpus.ids.size()), seq_len, seed) {}

SequenceStream::SequenceStream(const Corpus* c, const TokenCorpus* t, int64_t n_tokens, int64_t seq_len,
                               uint64_t seed)
    : corpus_(c), tokens_(t), n_docs_(static_cast<int64_t>(c ? c->size() : t->size())), seq_len_(seq_len),
      seed_(seed) {
  if (seq_len < 1) throw Error("[SequenceStream] seq_len must be >= 1, got " + std::to_string(seq_len));
  if (n_docs_ == 0) throw Error("[SequenceStream] the corpus holds no documents");
  tokens_per_epoch_ = n_tokens + 2 * n_documents();
  order_ = epoch_order(n_documents(), seed_, 0);
}

int64_t SequenceStream::doc_len(int64_t d) const { return doc_length(corpus_, tokens_, d); }

int32_t SequenceStream::token(int64_t d, int64_t k) const {
  return wrapped_token(corpus_, tokens_, d, doc_len(d), k);
}

int32_t SequenceStream::peek() const { return token(order_[static_cast<size_t>(pos_.doc)], pos_.offset); }

int64_t SequenceStream::side_index(int64_t doc, int64_t offset) const {
  return corpus_->offsets[static_cast<size_t>(doc)] + 2 * doc + offset;
}

void SequenceStream::attach_side(std::span<const float> values) {
  if (tokens_) throw Error("[SequenceStream] side values need a byte corpus");
  if (static_cast<int64_t>(values.size()) != tokens_per_epoch_)
    throw Error("[SequenceStream] " + std::to_string(values.size()) + " side values for a corpus of " +
                std::to_string(tokens_per_epoch_) + " tokens (bytes + BOS/EOS per document)");
  side_ = values;
}

void SequenceStream::read(int32_t* out, float* side, int64_t n) {
  while (n > 0) {
    const int64_t d = order_[static_cast<size_t>(pos_.doc)];
    const int64_t len = doc_len(d);
    const int64_t take = std::min(n, len + 2 - pos_.offset);
    for (int64_t k = pos_.offset; k < pos_.offset + take; ++k) *out++ = wrapped_token(corpus_, tokens_, d, len, k);
    if (side)
      for (int64_t k = pos_.offset; k < pos_.offset + take; ++k) *side++ = side_[static_cast<size_t>(side_index(d, k))];
    pos_.offset += take;
    done_in_epoch_ += take;
    n -= take;
    if (pos_.offset == len + 2) {  // keep pos_ on a real token: next document, next epoch
      pos_.offset = 0;
      if (++pos_.doc == n_documents()) {
        pos_.doc = 0;
        ++pos_.epoch;
        order_ = epoch_order(n_documents(), seed_, pos_.epoch);
        done_in_epoch_ = 0;
      }
    }
  }
}

void SequenceStream::next_row(std::span<int32_t> row, std::span<float> side) {
  if (static_cast<int64_t>(row.size()) != seq_len_ + 1)
    throw ShapeError("[SequenceStream] row (" + std::to_string(row.size()) + ") vs seq_len+1 (" +
                     std::to_string(seq_len_ + 1) + ")");
  const bool with_side = !side.empty();
  if (with_side && (side_.empty() || side.size() != row.size()))
    throw Error("[SequenceStream] side values requested without attached values or with a wrong row size");
  read(row.data(), with_side ? side.data() : nullptr, seq_len_);
  row[static_cast<size_t>(seq_len_)] = peek();  // shared with the next row's first token
  if (with_side) {
    const int64_t d = order_[static_cast<size_t>(pos_.doc)];
    side[static_cast<size_t>(seq_len_)] = side_[static_cast<size_t>(side_index(d, pos_.offset))];
  }
}

void SequenceStream::next_batch(int64_t batch, std::vector<int32_t>& tokens, std::vector<float>* side) {
  if (batch < 1) throw Error("[SequenceStream] batch must be >= 1, got " + std::to_string(batch));
  const auto row = static_cast<size_t>(seq_len_ + 1);
  tokens.resize(static_cast<size_t>(batch) * row);
  if (side) side->resize(static_cast<size_t>(batch) * row);
  for (int64_t b = 0; b < batch; ++b)
    next_row(std::span(tokens).subspan(static_cast<size_t>(b) * row, row),
             side ? std::span(*side).subspan(static_cast<size_t>(b) * row, row) : std::span<float>{});
}

void SequenceStream::seek(const DataPosition& p) {
  if (p.epoch < 0 || p.doc < 0 || p.doc >= n_documents())
    throw Error("[SequenceStream] position " + str(p) + " does not fit a corpus of " +
                std::to_string(n_documents()) + " documents");
  std::vector<int64_t> order = epoch_order(n_documents(), seed_, p.epoch);
  const int64_t len = doc_len(order[static_cast<size_t>(p.doc)]);
  if (p.offset < 0 || p.offset >= len + 2)
    throw Error("[SequenceStream] position " + str(p) + " is outside its document of " + std::to_string(len) +
                " bytes (+2 for BOS/EOS); was it saved with another corpus?");
  int64_t done = p.offset;
  for (int64_t i = 0; i < p.doc; ++i)
    done += doc_len(order[static_cast<size_t>(i)]) + 2;
  order_ = std::move(order);
  pos_ = p;
  done_in_epoch_ = done;
}

double SequenceStream::epochs_done() const {
  return static_cast<double>(pos_.epoch) +
         static_cast<double>(done_in_epoch_) / static_cast<double>(tokens_per_epoch_);
}

EvalWindows::EvalWindows(const Corpus& corpus, int64_t max_seqlen)
    : corpus_(&corpus), n_docs_(static_cast<int64_t>(corpus.size())), max_seqlen_(max_seqlen) {
  if (max_seqlen < 1) throw Error("[EvalWindows] max_seqlen must be >= 1, got " + std::to_string(max_seqlen));
}

EvalWindows::EvalWindows(const TokenCorpus& corpus, int64_t max_seqlen)
    : tokens_(&corpus), n_docs_(static_cast<int64_t>(corpus.size())), max_seqlen_(max_seqlen) {
  if (max_seqlen < 1) throw Error("[EvalWindows] max_seqlen must be >= 1, got " + std::to_string(max_seqlen));
}

int64_t EvalWindows::doc_len(int64_t d) const { return doc_length(corpus_, tokens_, d); }

bool EvalWindows::next(EvalWindow& w) {
  if (doc_ >= n_docs_) return false;
  const int64_t len = doc_len(doc_);
  const int64_t n = std::min(max_seqlen_, len + 1 - start_);  // targets in this window
  w.doc = doc_;
  w.start = start_;
  w.last = start_ + n == len + 1;
  w.tokens.resize(static_cast<size_t>(n + 1));
  for (int64_t k = 0; k <= n; ++k)
    w.tokens[static_cast<size_t>(k)] = wrapped_token(corpus_, tokens_, doc_, len, start_ + k);
  if (w.last) {
    ++doc_;
    start_ = 0;
  } else {
    start_ += n;
  }
  return true;
}

int64_t EvalWindows::n_windows() const {
  int64_t total = 0;
  for (int64_t d = 0; d < n_docs_; ++d) total += (doc_len(d) + 1 + max_seqlen_ - 1) / max_seqlen_;
  return total;
}

int64_t EvalWindows::n_targets() const {
  int64_t n = 0;
  for (int64_t d = 0; d < n_docs_; ++d) n += doc_len(d) + 1;
  return n;
}

}  // namespace blt::data
