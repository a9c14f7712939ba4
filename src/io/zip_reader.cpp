// ZIP central-directory reader over a private read-only mmap (POSIX).
// Records are decoded byte by byte (little-endian) so that no unaligned or
// out-of-range load is ever made: each read is preceded by a bounds check
// against the mapped size, done in a form that cannot overflow.
#include "io/zip_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace blt::io {

namespace {

constexpr uint32_t kSigLocal = 0x04034b50;
constexpr uint32_t kSigCentral = 0x02014b50;
constexpr uint32_t kSigEnd = 0x06054b50;
constexpr uint32_t kSigZip64End = 0x06064b50;
constexpr uint32_t kSigZip64Locator = 0x07064b50;
constexpr uint64_t kEndSize = 22;           // end of central directory record, without its comment
constexpr uint64_t kZip64EndSize = 56;      // ZIP64 end record, without its extensible data
constexpr uint64_t kZip64LocatorSize = 20;  // sits right before the end record
constexpr uint64_t kCentralSize = 46;       // central directory header, without name/extra/comment
constexpr uint64_t kLocalSize = 30;         // local file header, without name/extra
constexpr uint64_t kMaxComment = 0xffff;

uint16_t rd16(const std::byte* p) {
  return static_cast<uint16_t>(std::to_integer<uint16_t>(p[0]) | std::to_integer<uint16_t>(p[1]) << 8);
}
uint32_t rd32(const std::byte* p) {
  return uint32_t{rd16(p)} | uint32_t{rd16(p + 2)} << 16;
}
uint64_t rd64(const std::byte* p) {
  return uint64_t{rd32(p)} | uint64_t{rd32(p + 4)} << 32;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FormatError(path + ": " + what);
}

// True when [offset, offset + length) lies within [0, limit).
bool within(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

}  // namespace

uint32_t crc32(std::span<const std::byte> bytes, uint32_t crc) {
  crc = ~crc;
  for (std::byte b : bytes) crc = kCrcTable[(crc ^ std::to_integer<uint32_t>(b)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

// The whole file, mapped read-only; an empty file has no mapping. IoError naming `path` if it cannot be
// opened, is not a regular file or cannot be mapped.
struct ZipReader::Mapping {
  const std::byte* data = nullptr;
  uint64_t size = 0;
  explicit Mapping(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      throw IoError("cannot read " + path + ": " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw IoError("cannot read " + path + ": not a regular file");
    }
    size = static_cast<uint64_t>(st.st_size);
    if (size > 0) {
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        throw IoError("cannot map " + path + ": " + std::strerror(err));
      }
      data = static_cast<const std::byte*>(p);
    }
    ::close(fd);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data) ::munmap(const_cast<std::byte*>(data), size);
  }
};

namespace {

// Where the central directory lies, from the end record (or the ZIP64 end record when there is one).
struct CentralDirectory {
  uint64_t disk = 0, cd_disk = 0;         // this disk, the directory's disk: both 0 in a single-disk zip
  uint64_t n_on_disk = 0, n_entries = 0;  // entries on this disk, in all
  uint64_t size = 0, offset = 0;          // bytes, first byte
  uint64_t limit = 0;                     // the directory must end before this (the end records)
};

// The position of the end of central directory record: the last 22 bytes, unless an archive comment
// follows it.
uint64_t find_end_record(const std::string& path, const std::byte* base, uint64_t size) {
  if (size < kEndSize)
    fail(path, "not a zip archive: " + std::to_string(size) + " bytes is too small (truncated file?)");
  const uint64_t lowest = size - kEndSize > kMaxComment ? size - kEndSize - kMaxComment : 0;
  for (uint64_t p = size - kEndSize + 1; p-- > lowest;)
    if (rd32(base + p) == kSigEnd && p + kEndSize + rd16(base + p + 20) == size) return p;
  fail(path, "not a zip archive: no end-of-central-directory record (truncated file?)");
}

// ZIP64: a locator right before the end record at `end` points at the ZIP64 end record, whose values win.
void apply_zip64_end(const std::string& path, const std::byte* base, uint64_t end, CentralDirectory& cd) {
  if (end < kZip64LocatorSize || rd32(base + end - kZip64LocatorSize) != kSigZip64Locator) return;
  const std::byte* loc = base + end - kZip64LocatorSize;
  const uint64_t z64 = rd64(loc + 8);
  if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1) fail(path, "multi-disk zip archives are not supported");
  if (!within(z64, kZip64EndSize, end - kZip64LocatorSize) || rd32(base + z64) != kSigZip64End)
    fail(path,
         "ZIP64 locator points at byte " + std::to_string(z64) + ", where there is no ZIP64 end record");
  cd.disk = rd32(base + z64 + 16);
  cd.cd_disk = rd32(base + z64 + 20);
  cd.n_on_disk = rd64(base + z64 + 24);
  cd.n_entries = rd64(base + z64 + 32);
  cd.size = rd64(base + z64 + 40);
  cd.offset = rd64(base + z64 + 48);
  cd.limit = z64;
}

// The central directory of a single-disk archive, checked to lie within the file and to have room for
// its entries.
CentralDirectory read_end_records(const std::string& path, const std::byte* base, uint64_t size) {
  const uint64_t end = find_end_record(path, base, size);
  CentralDirectory cd;
  cd.disk = rd16(base + end + 4);
  cd.cd_disk = rd16(base + end + 6);
  cd.n_on_disk = rd16(base + end + 8);
  cd.n_entries = rd16(base + end + 10);
  cd.size = rd32(base + end + 12);
  cd.offset = rd32(base + end + 16);
  cd.limit = end;  // the central directory ends before the end records
  apply_zip64_end(path, base, end, cd);
  if (cd.disk != 0 || cd.cd_disk != 0 || cd.n_on_disk != cd.n_entries)
    fail(path, "multi-disk zip archives are not supported");
  if (!within(cd.offset, cd.size, cd.limit))
    fail(path, "central directory (" + std::to_string(cd.size) + " bytes at " + std::to_string(cd.offset) +
                   ") lies outside the file of " + std::to_string(size) + " bytes (truncated file?)");
  if (cd.n_entries > cd.size / kCentralSize)
    fail(path, std::to_string(cd.n_entries) + " entries cannot fit in a central directory of " +
                   std::to_string(cd.size) + " bytes");
  return cd;
}

// ZIP64 extended information (id 1) in the extra field [x, x + extra_len) of entry `e`: 8-byte values
// for the 32-bit fields that are all ones (sizes, local header offset), 4 bytes for the disk number.
void read_zip64_extra(const std::string& path, const std::byte* x, uint64_t extra_len, ZipEntry& e,
                      uint64_t& local, uint64_t& disk_start) {
  for (uint64_t left = extra_len; left >= 4;) {
    const uint64_t id = rd16(x), len = rd16(x + 2);
    if (len > left - 4) fail(path, "entry '" + e.name + "': extra field runs past its header");
    if (id == 1) {
      const std::byte* f = x + 4;
      uint64_t f_left = len;
      auto take64 = [&](uint64_t& field) {
        if (f_left < 8) fail(path, "entry '" + e.name + "': ZIP64 extra field is too short");
        field = rd64(f);
        f += 8;
        f_left -= 8;
      };
      if (e.size == 0xffffffffu) take64(e.size);
      if (e.compressed_size == 0xffffffffu) take64(e.compressed_size);
      if (local == 0xffffffffu) take64(local);
      if (disk_start == 0xffff) {
        if (f_left < 4) fail(path, "entry '" + e.name + "': ZIP64 extra field is too short");
        disk_start = rd32(f);
      }
    }
    x += 4 + len;
    left -= 4 + len;
  }
}

// Sets e.data_offset from the local header at `local`, which must repeat the entry's name (its own extra
// field may differ: torch pads it to align the data); the data must end before the central directory.
void locate_data(const std::string& path, const std::byte* base, uint64_t local, uint64_t cd_offset,
                 ZipEntry& e) {
  if (!within(local, kLocalSize, cd_offset) || rd32(base + local) != kSigLocal)
    fail(path, "entry '" + e.name + "': no local header at byte " + std::to_string(local));
  const uint64_t local_name = rd16(base + local + 26), local_extra = rd16(base + local + 28);
  if (!within(local + kLocalSize, local_name + local_extra, cd_offset) || local_name != e.name.size() ||
      std::memcmp(base + local + kLocalSize, e.name.data(), e.name.size()) != 0)
    fail(path, "entry '" + e.name + "': local header at byte " + std::to_string(local) +
                   " does not match the central directory");
  e.data_offset = local + kLocalSize + local_name + local_extra;
  if (!within(e.data_offset, e.compressed_size, cd_offset))
    fail(path, "entry '" + e.name + "': " + std::to_string(e.compressed_size) + " bytes at " +
                   std::to_string(e.data_offset) + " run past the data area (truncated file?)");
}

// Central directory entry `i`, whose header starts at `p`; advances `p` past it.
ZipEntry read_central_entry(const std::string& path, const std::byte* base, const CentralDirectory& cd,
                            uint64_t i, uint64_t& p) {
  const uint64_t cd_end = cd.offset + cd.size;
  const std::string where =
      "central directory entry " + std::to_string(i) + " (byte " + std::to_string(p) + ")";
  if (!within(p, kCentralSize, cd_end) || rd32(base + p) != kSigCentral) fail(path, where + " is malformed");
  const std::byte* h = base + p;
  ZipEntry e;
  e.flags = rd16(h + 8);
  e.method = rd16(h + 10);
  e.crc32 = rd32(h + 16);
  e.compressed_size = rd32(h + 20);
  e.size = rd32(h + 24);
  const uint64_t name_len = rd16(h + 28), extra_len = rd16(h + 30), comment_len = rd16(h + 32);
  uint64_t disk_start = rd16(h + 34);
  uint64_t local = rd32(h + 42);
  if (!within(p + kCentralSize, name_len + extra_len + comment_len, cd_end))
    fail(path, where + ": name/extra/comment run past the central directory");
  e.name.assign(reinterpret_cast<const char*>(h + kCentralSize), name_len);
  read_zip64_extra(path, h + kCentralSize + name_len, extra_len, e, local, disk_start);
  p += kCentralSize + name_len + extra_len + comment_len;

  if (e.name.empty()) fail(path, where + " has an empty name");
  if (disk_start != 0)
    fail(path, "entry '" + e.name + "' is on another disk; multi-disk zips are not supported");
  locate_data(path, base, local, cd.offset, e);
  if (e.method == 0 && e.compressed_size != e.size)
    fail(path, "entry '" + e.name + "' is stored but its sizes differ (" + std::to_string(e.compressed_size) +
                   " vs " + std::to_string(e.size) + ")");
  return e;
}

}  // namespace

ZipReader::ZipReader(const std::string& path) : path_(path), file_(std::make_unique<Mapping>(path)) {
  const CentralDirectory cd = read_end_records(path, file_->data, file_->size);
  entries_.reserve(cd.n_entries);
  uint64_t p = cd.offset;
  for (uint64_t i = 0; i < cd.n_entries; ++i) {
    ZipEntry e = read_central_entry(path, file_->data, cd, i, p);
    if (!index_.emplace(e.name, entries_.size()).second) fail(path, "entry '" + e.name + "' appears twice");
    entries_.push_back(std::move(e));
  }
}

ZipReader::~ZipReader() = default;

uint64_t ZipReader::file_size() const {
  return file_->size;
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::span<const std::byte> ZipReader::data(const ZipEntry& e) const {
  if (e.flags & 1) fail(path_, "entry '" + e.name + "' is encrypted");
  if (e.method != 0)
    fail(path_, "entry '" + e.name + "' is compressed (method " + std::to_string(e.method) +
                    "); only stored entries are supported, as torch.save writes them");
  // Checked against the file size in the constructor.
  return {file_->data + e.data_offset, static_cast<size_t>(e.size)};
}

void ZipReader::verify_crc(const ZipEntry& e) const {
  if (crc32(data(e)) != e.crc32)
    fail(path_, "entry '" + e.name + "' fails its CRC-32 check (corrupted file)");
}

}  // namespace blt::io
