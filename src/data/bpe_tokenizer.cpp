// BpeTokenizer: SentencePiece BPE training in memory, encoding and decoding.
#include "data/bpe_tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <unordered_map>

#include "core/error.h"
#include "data/tokenizer.h"
#include "io/atomic_file.h"
#include "io/file.h"

namespace blt::data {

namespace {

// The corpus's non-empty lines, one SentencePiece sentence each.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const Corpus& c) : c_(c) { advance(); }
  bool done() const override { return doc_ >= c_.size(); }
  void Next() override { advance(); }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void advance() {
    while (doc_ < c_.size()) {
      const std::string_view d = c_.doc(doc_);
      if (pos_ >= d.size()) {
        ++doc_;
        pos_ = 0;
        continue;
      }
      const size_t end = std::min(d.find('\n', pos_), d.size());
      line_ = drop_invalid_utf8(d.substr(pos_, end - pos_));
      pos_ = end + 1;
      if (!line_.empty()) return;
    }
  }
  const Corpus& c_;
  size_t doc_ = 0, pos_ = 0;
  std::string line_;
};

}  // namespace

BpeTokenizer::BpeTokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer BpeTokenizer::train(const Corpus& corpus, int64_t vocab_size, uint64_t seed,
                                 const std::string& option) {
  if (vocab_size < 300 || vocab_size > (int64_t{1} << 20))
    throw ConfigError(option + " " + std::to_string(vocab_size) +
                      ": the BPE vocabulary must be in [300, 1048576] (259 ids are bytes and specials)");
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned>(seed));
  const std::unordered_map<std::string, std::string> kwargs = {{"model_type", "bpe"},
                                                               {"vocab_size", std::to_string(vocab_size)},
                                                               {"byte_fallback", "true"},
                                                               {"character_coverage", "0.9995"},
                                                               {"normalization_rule_name", "identity"},
                                                               {"add_dummy_prefix", "false"},
                                                               {"remove_extra_whitespaces", "false"},
                                                               {"allow_whitespace_only_pieces", "true"},
                                                               {"split_by_whitespace", "true"},
                                                               {"input_sentence_size", "0"},
                                                               {"shuffle_input_sentence", "false"},
                                                               {"max_sentence_length", "16384"},
                                                               {"num_threads", "1"},
                                                               {"minloglevel", "2"}};
  LineIterator lines(corpus);
  BpeTokenizer t;
  const auto st = sentencepiece::SentencePieceTrainer::Train(kwargs, &lines, &t.proto_);
  if (!st.ok()) {
    const std::string msg = st.ToString();
    if (msg.find("Vocabulary size") != std::string::npos || msg.find("vocab_size") != std::string::npos)
      throw ConfigError(option + " " + std::to_string(vocab_size) +
                        " is larger than the training corpus supports (" + msg + ")");
    throw Error("SentencePiece training failed: " + msg);
  }
  if (const auto s = t.sp_->LoadFromSerializedProto(t.proto_); !s.ok())
    throw Error("SentencePiece: cannot load the trained model: " + s.ToString());
  return t;
}

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  BpeTokenizer t;
  t.proto_ = io::read_file(path);
  if (const auto s = t.sp_->LoadFromSerializedProto(t.proto_); !s.ok())
    throw IoError(path + ": cannot load SentencePiece model: " + s.ToString());
  return t;
}

void BpeTokenizer::save(const std::string& path) const {
  io::write_file_atomic(path, proto_);
}

int64_t BpeTokenizer::vocab_size() const {
  return sp_->GetPieceSize();
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const std::string valid = drop_invalid_utf8(text);
  if (const auto s = sp_->Encode(valid, &ids); !s.ok())
    throw Error("[BpeTokenizer] sentencepiece: " + s.ToString());
  return {ids.begin(), ids.end()};
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::vector<int> v;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size())
      throw Error("[BpeTokenizer] id " + std::to_string(id) + " out of range");
    if (!sp_->IsControl(id) && !sp_->IsUnknown(id)) v.push_back(id);
  }
  std::string out;
  if (const auto s = sp_->Decode(v, &out); !s.ok())
    throw Error("[BpeTokenizer] sentencepiece: " + s.ToString());
  return out;
}

TokenCorpus BpeTokenizer::encode_corpus(const Corpus& corpus) const {
  TokenCorpus tc;
  for (size_t d = 0; d < corpus.size(); ++d) {
    const std::vector<int32_t> ids = encode(corpus.doc(d));
    tc.ids.insert(tc.ids.end(), ids.begin(), ids.end());
    tc.offsets.push_back(static_cast<int64_t>(tc.ids.size()));
    tc.bytes.push_back(static_cast<int64_t>(drop_invalid_utf8(corpus.doc(d)).size()));
  }
  return tc;
}

}  // namespace blt::data
