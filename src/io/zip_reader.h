// ZipReader: the entries of a ZIP archive as torch.save writes it (stored
// entries, ZIP64 end records), read from a read-only memory mapping of the file.
// Every offset and size in the end records, the central directory and the local
// headers is checked against the file size when the reader is built, so a
// truncated or corrupted archive is a FormatError, never a read out of bounds.
// Only stored (method 0) entries give their bytes; torch never compresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace blt::io {

struct ZipEntry {
  std::string name;              // "archive/data/0"
  uint16_t method = 0;           // 0 stored; anything else (8 deflate, ...) has no data()
  uint16_t flags = 0;            // general purpose bits; bit 0 = encrypted
  uint32_t crc32 = 0;            // of the uncompressed bytes
  uint64_t size = 0;             // uncompressed bytes
  uint64_t compressed_size = 0;  // bytes in the file
  uint64_t data_offset = 0;      // first byte of the entry's data in the file
};

class ZipReader {
 public:
  // Maps `path` and reads its central directory. IoError if it cannot be opened or mapped,
  // FormatError (naming the path and the record) if it is not a well-formed single-disk ZIP.
  explicit ZipReader(const std::string& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::string& path() const { return path_; }
  uint64_t file_size() const;
  // In central-directory order.
  const std::vector<ZipEntry>& entries() const { return entries_; }
  // nullptr when absent.
  const ZipEntry* find(std::string_view name) const;
  // The bytes of a stored entry, valid while the reader lives. FormatError naming the entry if it is
  // compressed or encrypted. The CRC is not checked here (see verify_crc).
  std::span<const std::byte> data(const ZipEntry& e) const;
  // FormatError naming the entry if its bytes do not match the CRC-32 of the central directory.
  void verify_crc(const ZipEntry& e) const;

 private:
  struct Mapping;
  std::string path_;
  std::unique_ptr<Mapping> file_;
  std::vector<ZipEntry> entries_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in entries_
};

// CRC-32 (ISO 3309, as ZIP uses) of `bytes`, continuing from `crc` (0 to start).
uint32_t crc32(std::span<const std::byte> bytes, uint32_t crc = 0);

}  // namespace blt::io
