// Fuzz target: a whole .safetensors file (u64 header length, JSON header, data).
// Opens it (header validation), then asks for every tensor's shape and reads it
// the way the loaders do: floats converted to F32 and to F64, integers as int64.
#include <cstdint>

#include "fuzz_support.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  const std::string path = fuzz::put_file("t.safetensors", fuzz::as_text(data, size));
  fuzz::expect_errors([&] {
    const io::SafetensorsFile f = io::SafetensorsFile::open(path);
    for (const std::string& name : f.names()) {
      fuzz::expect_errors([&] { (void)f.shape(name); });
      fuzz::expect_errors([&] { (void)f.read(name, DType::F32); });
      fuzz::expect_errors([&] { (void)f.read(name, DType::F64); });
      fuzz::expect_errors([&] { (void)f.read_ints(name); });
    }
    (void)f.metadata();
  });
  return 0;
}
