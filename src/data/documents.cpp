// Corpus file discovery, the streaming DocumentReader (POSIX reads, libzstd
// streaming decompression) and the in-memory Corpus. Both byte sources hand out
// chunks of at most kChunkBytes, so memory stays bounded by the longest line, and a
// line is refused as soon as it passes max_line_bytes (never read whole first).
#include "data/documents.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/json_fields.h"

namespace blt::data {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = size_t{1} << 16;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_zstd(const std::string& path) {
  return ends_with(path, ".zst");
}

CorpusFormat format_of(const std::string& path) {
  if (ends_with(path, ".jsonl") || ends_with(path, ".jsonl.zst")) return CorpusFormat::JsonLines;
  if (ends_with(path, ".txt") || ends_with(path, ".txt.zst")) return CorpusFormat::Text;
  throw Error(path + ": not a corpus file (expected .txt, .jsonl, .txt.zst or .jsonl.zst)");
}

[[noreturn]] void io_fail(const std::string& path, const char* what, int err) {
  throw IoError(path + ": " + what + ": " + std::strerror(err));
}

}  // namespace

// A file descriptor, plus a zstd decompression context for .zst files.
struct DocumentReader::Source {
  std::string path;
  int fd = -1;
  ZSTD_DCtx* dctx = nullptr;
  std::vector<char> in;  // compressed bytes; [in_buf.pos, in_buf.size) not yet decompressed
  ZSTD_inBuffer in_buf{nullptr, 0, 0};
  bool eof = false;         // the file is read to its end
  bool frame_open = false;  // zstd holds an unfinished frame (or unflushed output)

  Source(std::string p, bool zstd) : path(std::move(p)) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_fail(path, "cannot open for reading", errno);
    if (zstd) {
      dctx = ZSTD_createDCtx();
      if (!dctx) throw IoError(path + ": cannot create a zstd decompression context");
      in.resize(ZSTD_DStreamInSize());
      in_buf = {in.data(), 0, 0};
    }
  }
  ~Source() {
    if (dctx) ZSTD_freeDCtx(dctx);
    if (fd >= 0) ::close(fd);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Up to `cap` raw file bytes into `out`; 0 at the end of the file.
  size_t read_raw(char* out, size_t cap) {
    for (;;) {
      ssize_t n = ::read(fd, out, cap);
      if (n < 0) {
        if (errno == EINTR) continue;
        io_fail(path, "read error", errno);
      }
      return static_cast<size_t>(n);
    }
  }

  // Up to `cap` (decompressed) bytes into `out`; 0 only at the end of the data.
  size_t read(char* out, size_t cap) {
    if (!dctx) return read_raw(out, cap);
    ZSTD_outBuffer out_buf{out, cap, 0};
    while (out_buf.pos == 0) {
      if (in_buf.pos == in_buf.size && !eof) {
        in_buf = {in.data(), read_raw(in.data(), in.size()), 0};
        if (in_buf.size == 0) eof = true;
      }
      const bool input_exhausted = in_buf.pos == in_buf.size && eof;
      if (input_exhausted && !frame_open) return 0;
      const size_t r = ZSTD_decompressStream(dctx, &out_buf, &in_buf);
      if (ZSTD_isError(r)) throw FormatError(path + ": corrupt zstd data: " + ZSTD_getErrorName(r));
      frame_open = r != 0;
      if (input_exhausted && out_buf.pos == 0) {
        if (frame_open) throw FormatError(path + ": truncated zstd data (the file ends inside a frame)");
        return 0;
      }
    }
    return out_buf.pos;
  }
};

bool is_corpus_file(const std::string& path) {
  return ends_with(path, ".txt") || ends_with(path, ".jsonl") || ends_with(path, ".txt.zst") ||
         ends_with(path, ".jsonl.zst");
}

std::vector<std::string> expand_corpus_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (!fs::exists(st)) throw IoError(p + ": corpus path not found");
    if (ec) throw IoError(p + ": cannot access: " + ec.message());
    if (fs::is_directory(st)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(p, ec), end;
      if (ec) throw IoError(p + ": cannot list directory: " + ec.message());
      for (; it != end; it.increment(ec)) {
        if (ec) throw IoError(p + ": cannot list directory: " + ec.message());
        const std::string f = it->path().string();
        if (is_corpus_file(f) && it->is_regular_file(ec)) found.push_back(f);
      }
      if (ec) throw IoError(p + ": cannot list directory: " + ec.message());
      if (found.empty())
        throw Error(p + ": directory holds no corpus files (.txt, .jsonl, .txt.zst, .jsonl.zst)");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      format_of(p);  // throws for an unsupported extension
      files.push_back(p);
    }
  }
  return files;
}

DocumentReader::DocumentReader(std::string path, int64_t max_line_bytes)
    : path_(std::move(path)), max_line_bytes_(max_line_bytes) {
  format_ = format_of(path_);
  if (max_line_bytes < 1)
    throw ConfigError(path_ + ": max_line_bytes must be positive, got " + std::to_string(max_line_bytes));
  std::error_code ec;
  if (fs::is_directory(path_, ec)) throw IoError(path_ + ": cannot read: is a directory");
  source_ = std::make_unique<Source>(path_, is_zstd(path_));
}

DocumentReader::~DocumentReader() = default;
DocumentReader::DocumentReader(DocumentReader&&) noexcept = default;
DocumentReader& DocumentReader::operator=(DocumentReader&&) noexcept = default;

void DocumentReader::too_long(int64_t line) const {
  const std::string what =
      format_ == CorpusFormat::Text ? ": document" : ":" + std::to_string(line) + ": line";
  throw FormatError(path_ + what + " longer than " + std::to_string(max_line_bytes_) +
                    " bytes, the maximum (max_line_bytes; `--max-line-bytes` raises it)");
}

bool DocumentReader::next_line(std::string& line) {
  const auto max = static_cast<size_t>(max_line_bytes_);
  size_t scan = pos_;
  for (;;) {
    const size_t nl = buffer_.find('\n', scan);
    if (nl != std::string::npos && nl - pos_ > max) too_long(line_ + 1);
    if (nl != std::string::npos) {
      line.assign(buffer_, pos_, nl - pos_);
      pos_ = nl + 1;
      ++line_;
      return true;
    }
    // No full line buffered: drop the consumed prefix and read another chunk.
    buffer_.erase(0, pos_);
    pos_ = 0;
    if (buffer_.size() > max) too_long(line_ + 1);  // before reading any more of it
    scan = buffer_.size();
    const size_t old = buffer_.size();
    buffer_.resize(old + kChunkBytes);
    const size_t n = source_->read(buffer_.data() + old, kChunkBytes);
    buffer_.resize(old + n);
    if (n == 0) {
      if (buffer_.empty()) return false;
      line = std::move(buffer_);  // last line without a final newline
      buffer_.clear();
      ++line_;
      return true;
    }
  }
}

bool DocumentReader::next(std::string& doc) {
  if (done_) return false;
  if (format_ == CorpusFormat::Text) {
    done_ = true;
    std::string all;
    char chunk[kChunkBytes];
    for (size_t n; (n = source_->read(chunk, sizeof chunk)) > 0;) {
      if (all.size() + n > static_cast<size_t>(max_line_bytes_)) too_long(1);
      all.append(chunk, n);
    }
    source_.reset();
    if (all.empty()) return false;
    doc = std::move(all);
    return true;
  }
  std::string line;
  while (next_line(line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
    const std::string where = path_ + ":" + std::to_string(line_);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e400
      throw FormatError(where + ": invalid JSON: " + e.what());
    }
    if (!j.is_object()) throw FormatError(where + ": expected a JSON object, got " + j.type_name());
    auto it = j.find("text");
    if (it == j.end()) throw FormatError(where + ": missing field 'text'");
    if (!it->is_string())
      throw FormatError(where + ": field 'text' must be a string, got " + it->type_name());
    auto& text = it->get_ref<std::string&>();
    if (text.empty()) continue;
    doc = std::move(text);
    return true;
  }
  done_ = true;
  source_.reset();
  return false;
}

std::string_view Corpus::doc(size_t i) const {
  BLT_ASSERT(i < size(), "document " + std::to_string(i) + " of " + std::to_string(size()));
  return std::string_view(bytes).substr(static_cast<size_t>(offsets[i]), static_cast<size_t>(doc_size(i)));
}

void Corpus::add(std::string_view doc) {
  if (offsets.empty()) offsets.push_back(0);
  bytes.append(doc);
  offsets.push_back(static_cast<int64_t>(bytes.size()));
}

Corpus load_corpus(const std::vector<std::string>& paths, int64_t max_line_bytes) {
  Corpus corpus;
  std::string doc;
  for (const auto& file : expand_corpus_paths(paths)) {
    DocumentReader reader(file, max_line_bytes);
    const size_t before = corpus.size();
    while (reader.next(doc)) corpus.add(doc);
    if (corpus.size() == before) io::warn(file + ": no documents (empty file or only empty texts); skipped");
  }
  if (corpus.size() == 0) {
    std::string names;
    for (const auto& p : paths) names += (names.empty() ? "" : ", ") + p;
    throw Error("no documents found in " + (names.empty() ? std::string("(no paths given)") : names));
  }
  return corpus;
}

}  // namespace blt::data
