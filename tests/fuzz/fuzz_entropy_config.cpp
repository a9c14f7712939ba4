// Fuzz target: an entropy model's params.json (modeldir::read_entropy_config:
// the "entropy_model" LM args with their size limits and data.patcher_args).
#include <cstdint>

#include "fuzz_support.h"
#include "modeldir/entropy_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  fuzz::silence_warnings();
  const std::string path = fuzz::put_file("params.json", fuzz::as_text(data, size));
  fuzz::expect_errors([&] { (void)modeldir::read_entropy_config(path); });
  return 0;
}
