// Fuzz target: a ZIP archive for ZipReader (end records, ZIP64, central
// directory, local headers): every entry's bytes and CRC check, and lookups.
#include <cstdint>

#include "fuzz_support.h"
#include "io/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  const std::string path = fuzz::put_file("a.zip", fuzz::as_text(data, size));
  fuzz::expect_errors([&] {
    const io::ZipReader zip(path);
    for (const io::ZipEntry& e : zip.entries()) {
      (void)zip.find(e.name);
      fuzz::expect_errors([&] { (void)zip.data(e); });
      fuzz::expect_errors([&] { zip.verify_crc(e); });
    }
  });
  return 0;
}
