// Fuzz target: a whole torch.save checkpoint (.pth zip) for read_pth_state_dict,
// read as the entropy model's state dict ("model" entry) and as a flat dict.
// Mutations mostly break the zip or its CRCs; fuzz_pickle reaches the pickle machine.
#include <cstdint>

#include "fuzz_support.h"
#include "io/pth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  const std::string path = fuzz::put_file("c.pth", fuzz::as_text(data, size));
  fuzz::expect_errors([&] { (void)io::read_pth_state_dict(path, "model", DType::F32); });
  fuzz::expect_errors([&] { (void)io::read_pth_state_dict(path, "", DType::F64); });
  return 0;
}
