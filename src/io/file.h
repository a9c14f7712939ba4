// Whole-file reading: read_file() into a string, and MappedFile, an RAII
// read-only memory map of a whole file (weights are mmapped, then converted).
// Every failure is an IoError whose message names the path.
#pragma once

#include <cstddef>
#include <string>

namespace blt::io {

// The whole content of `path` as bytes; IoError naming the path on failure.
std::string read_file(const std::string& path);

// A read-only, private mapping of a whole regular file. Empty files are allowed
// (size() == 0, data() == nullptr). Move-only; unmaps on destruction.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void release() noexcept;

  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// Says that the mapped bytes [p, p + n) are read at random, a few rows at a time (hash-embedding lookups):
// a fault there reads its page, not a readahead window (madvise MADV_RANDOM on the pages that hold them).
// Without it a cold 1 000-byte eval of a blt-1b-shaped model read 8.3 of its 9.1 GB from disk. Advice only:
// a refusal changes nothing but the reads, and is ignored.
void advise_random_reads(const void* p, size_t n);

}  // namespace blt::io
