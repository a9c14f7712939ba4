// Fuzz target: the input is the data.pkl of a torch.save archive, wrapped in a
// valid zip (correct CRCs) beside storages archive/data/0 (64 bytes) and
// archive/data/1 (8 bytes), so every input reaches the restricted pickle machine
// and the tensor checks behind it (read_pth_state_dict).
#include <cstdint>

#include "fuzz_support.h"
#include "io/pth.h"
#include "support/zip_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  std::string storage(64, '\0');
  for (size_t i = 0; i < storage.size(); ++i) storage[i] = static_cast<char>(i * 37);
  const std::string zip = test::zip_stored({{"archive/data.pkl", std::string(fuzz::as_text(data, size))},
                                            {"archive/data/0", storage},
                                            {"archive/data/1", storage.substr(0, 8)},
                                            {"archive/version", "3\n"}});
  const std::string path = fuzz::put_file("p.pth", zip);
  fuzz::expect_errors([&] { (void)io::read_pth_state_dict(path, "model", DType::F32); });
  fuzz::expect_errors([&] { (void)io::read_pth_state_dict(path, "", DType::F64); });
  return 0;
}
