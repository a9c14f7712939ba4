// The BPE baseline's tokenizer: a SentencePiece BPE model trained from a
// corpus in memory (byte fallback on, identity normalisation, no dummy
// prefix, whitespace kept: decode(encode(x)) == x for valid UTF-8), and the
// token documents a token LM trains and validates on. Ids are SentencePiece's:
// unk 0, bos 1, eos 2 (the byte tokenizer's BOS/EOS ids), then the 256 byte
// pieces <0x00>..<0xFF>, then the merges. Training is deterministic for a
// given corpus, vocabulary and seed (one thread, no sampling or shuffling).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/documents.h"
#include "data/packing.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace blt::data {

class BpeTokenizer {
 public:
  // Trains a BPE model of `vocab_size` pieces on the lines of `corpus` (documents split at '\n'; the
  // newline itself is a byte piece). ConfigError naming `option` when the vocabulary is below 300 or larger
  // than the corpus supports; blt::Error for any other SentencePiece failure.
  static BpeTokenizer train(const Corpus& corpus, int64_t vocab_size, uint64_t seed,
                            const std::string& option);
  // Reads a model written by save(); IoError naming the path.
  static BpeTokenizer load(const std::string& path);
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  ~BpeTokenizer();

  // The serialized model, written atomically.
  void save(const std::string& path) const;
  int64_t vocab_size() const;
  // text -> ids (no BOS/EOS). Invalid UTF-8 is dropped first (as encode_bpe_delimited does).
  std::vector<int32_t> encode(std::string_view text) const;
  // ids -> text; the special ids (unk, bos, eos) decode to nothing.
  std::string decode(std::span<const int32_t> ids) const;
  // Every document of `corpus` encoded; bytes covered = the document's valid UTF-8 bytes.
  TokenCorpus encode_corpus(const Corpus& corpus) const;

 private:
  BpeTokenizer();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string proto_;  // the serialized model
};

}  // namespace blt::data
