// A stored-only ZIP writer for tests and fuzz targets: the layout of Python's
// zipfile (local headers, central directory, end record), optionally with
// ZIP64 extra fields in the central directory, as torch.save writes them.
// Hand-made pickles and storages become a .pth archive with valid CRCs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/zip_reader.h"

namespace blt::test {

inline void put16(std::string& b, uint32_t v) {
  b += static_cast<char>(v & 0xff);
  b += static_cast<char>((v >> 8) & 0xff);
}
inline void put32(std::string& b, uint32_t v) {
  put16(b, v & 0xffff);
  put16(b, v >> 16);
}

// entries: (name, bytes) in archive order -> the archive's bytes.
// zip64: the central directory gives sizes and offsets as 0xffffffff plus a ZIP64 extra field (id 1).
inline std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& entries, bool zip64 = false) {
  std::string out, central;
  for (const auto& entry : entries) {
    const std::string& name = entry.first;
    const std::string& data = entry.second;
    const uint32_t crc = io::crc32(std::as_bytes(std::span(data.data(), data.size())));
    const auto offset = static_cast<uint32_t>(out.size());
    auto common = [&](std::string& b) {
      put16(b, 20);    // version needed
      put16(b, 0);     // flags
      put16(b, 0);     // method: stored
      put16(b, 0);     // time
      put16(b, 0x21);  // date: 1980-01-01
      put32(b, crc);
      put32(b, static_cast<uint32_t>(data.size()));
      put32(b, static_cast<uint32_t>(data.size()));
      put16(b, static_cast<uint32_t>(name.size()));
      put16(b, 0);  // extra
    };
    put32(out, 0x04034b50);
    common(out);
    out += name;
    out += data;
    put32(central, 0x02014b50);
    put16(central, 20);  // version made by
    std::string header;
    common(header);
    if (zip64) {
      header.replace(14, 8, std::string(8, '\xff'));  // compressed and uncompressed sizes
      header[header.size() - 2] = 28;                 // extra length
    }
    central += header;
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, zip64 ? 0xffffffffu : offset);
    central += name;
    if (zip64) {
      put16(central, 1);
      put16(central, 24);
      for (uint64_t v : {uint64_t{data.size()}, uint64_t{data.size()}, uint64_t{offset}}) {
        put32(central, static_cast<uint32_t>(v));
        put32(central, static_cast<uint32_t>(v >> 32));
      }
    }
  }
  const auto cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

}  // namespace blt::test
