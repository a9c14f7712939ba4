// Fuzz target: a BLT directory's configuration (modeldir::read_blt_config):
// input parts config.json | entropy_model/params.json | train_args.json, split at
// fuzz::kSeparator; a missing part is a missing file. Covers the BLT args with
// their limits and the patcher-settings precedence over the three documents.
#include <cstdint>

#include "fuzz_support.h"
#include "modeldir/blt_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  fuzz::silence_warnings();
  fuzz::reset_scratch();
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 3);
  const char* names[] = {"blt/config.json", "blt/entropy_model/params.json", "blt/train_args.json"};
  for (size_t i = 0; i < parts.size(); ++i) fuzz::put_file(names[i], parts[i]);
  fuzz::expect_errors([&] { (void)modeldir::read_blt_config((fuzz::scratch_dir() / "blt").string()); });
  return 0;
}
