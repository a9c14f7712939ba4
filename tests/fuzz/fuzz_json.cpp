// Fuzz target: a JSON file through io::read_json_file, the one parser every
// config reader uses (errors name the path and position, 1e400 included), and
// the bounded rendering of a value that error messages use (io::brief).
#include <cstdint>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  const std::string path = fuzz::put_file("f.json", fuzz::as_text(data, size));
  fuzz::expect_errors([&] {
    const nlohmann::json j = io::read_json_file(path);
    (void)io::brief(j);
    (void)io::brief(j, 0);
  });
  return 0;
}
