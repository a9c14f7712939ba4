// Corpus readers: `.txt` (a whole file is one document, raw bytes) and JSON Lines
// (`.jsonl`, one document per line in its "text" field), each optionally zstd-compressed
// (`.txt.zst`, `.jsonl.zst`), and directories of such files (recursive, sorted).
// Key choices: DocumentReader streams (a .jsonl.zst is decompressed chunk by chunk and
// never held whole); load_corpus() keeps the whole corpus in memory as one byte buffer
// plus document offsets, which is fine for the ~24 MB development corpus and gives the
// packer O(1) random access for shuffling. Empty documents (text == "") are skipped.
// A JSONL line (or a .txt document) longer than max_line_bytes (default 64 MiB) is a
// FormatError naming file and line, raised as soon as the bound is passed: memory stays
// below the bound plus one 64 KiB chunk, whatever the line's length.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace blt::data {

enum class CorpusFormat { Text, JsonLines };

// The longest JSONL line, or .txt document, a reader accepts unless told otherwise: 64 MiB.
inline constexpr int64_t kDefaultMaxLineBytes = int64_t{64} << 20;

// True when `path` ends in .txt, .jsonl, .txt.zst or .jsonl.zst.
bool is_corpus_file(const std::string& path);

// Files and directories -> the corpus files they name, in the given order; each directory
// is replaced by its corpus files (recursively), sorted by path bytes for determinism.
// A missing path is an IoError naming it; a file with another extension, or a directory
// without corpus files, is an Error naming it.
std::vector<std::string> expand_corpus_paths(const std::vector<std::string>& paths);

// Reads the documents of one corpus file in order. Errors: IoError (path) when it cannot be
// opened or read; FormatError naming "path:line" for a malformed JSON line or a line without
// a string "text"; FormatError (path) for corrupt or truncated zstd data, and naming
// "path:line" for a line longer than `max_line_bytes` (.txt: a file longer than it; ConfigError
// when it is not positive). Blank JSONL lines are skipped.
class DocumentReader {
 public:
  explicit DocumentReader(std::string path, int64_t max_line_bytes = kDefaultMaxLineBytes);
  ~DocumentReader();
  DocumentReader(DocumentReader&&) noexcept;
  DocumentReader& operator=(DocumentReader&&) noexcept;

  // The next non-empty document into `doc`; false (and `doc` untouched) at the end.
  bool next(std::string& doc);

  const std::string& path() const { return path_; }
  CorpusFormat format() const { return format_; }
  int64_t line() const { return line_; }  // JSONL: number of the last line read (1-based)

 private:
  struct Source;  // plain or zstd byte source
  bool next_line(std::string& line);
  [[noreturn]] void too_long(int64_t line) const;

  std::string path_;
  CorpusFormat format_ = CorpusFormat::Text;
  std::unique_ptr<Source> source_;
  std::string buffer_;  // bytes read but not yet consumed, starting at pos_
  size_t pos_ = 0;
  int64_t line_ = 0;
  int64_t max_line_bytes_ = kDefaultMaxLineBytes;
  bool done_ = false;
};

// The documents of a corpus concatenated in one buffer: document i is
// bytes[offsets[i], offsets[i+1]). offsets has size()+1 entries.
struct Corpus {
  std::string bytes;
  std::vector<int64_t> offsets{0};

  size_t size() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::string_view doc(size_t i) const;
  int64_t doc_size(size_t i) const { return offsets[i + 1] - offsets[i]; }
  void add(std::string_view doc);  // appends one document
};

// All documents of expand_corpus_paths(paths), in order, in memory. A file without any
// document is skipped with a warning (blt::io::warn); no document at all is an Error
// "no documents found in ..." naming the paths. Lines are bounded as in DocumentReader.
Corpus load_corpus(const std::vector<std::string>& paths, int64_t max_line_bytes = kDefaultMaxLineBytes);

}  // namespace blt::data
