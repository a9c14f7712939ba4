// Crash-safe file writing: AtomicFile writes into a temporary file in the
// target's directory (".<basename>.tmp-<pid>-<random>") and commit() flushes,
// fsyncs it, renames it over the target and fsyncs the directory. Until that
// rename the old target is untouched; a writer destroyed without commit()
// (exception, early return) deletes its temporary file. Errors are IoError
// naming the target path.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace blt::io {

class AtomicFile {
 public:
  // Creates the temporary file next to `path` (mode 0666 minus umask).
  explicit AtomicFile(std::string path);
  // Without commit(): closes and removes the temporary file. Never throws.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes (buffered). Not allowed after commit().
  void write(const void* data, size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // flush + fsync(file) + rename(temp, path) + fsync(directory). Call once.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }
  bool committed() const { return committed_; }

 private:
  void flush();
  void write_all(const char* p, size_t n);

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
  std::vector<char> buf_;
};

// Replaces `path` with `bytes` atomically (AtomicFile + commit).
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace blt::io
