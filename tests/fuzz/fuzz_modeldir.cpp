// Fuzz target: loading a model directory in the release layout. The first byte
// chooses an entropy model directory (modeldir::EntropyModel::load) or a BLT one
// (modeldir::BltModel::load); the rest is split at fuzz::kSeparator into the files
// below, in order (a missing part is a missing file). Seeds come from make_seeds.cpp:
// tiny models whose weights fit in a few kilobytes.
#include <cstdint>

#include "fuzz_support.h"
#include "modeldir/blt_model.h"
#include "modeldir/entropy_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  fuzz::silence_warnings();
  fuzz::reset_scratch();
  if (size == 0) return 0;
  const bool blt_dir = data[0] % 2 == 1;
  const std::vector<std::string> entropy_files = {"params.json", "model.safetensors"};
  const std::vector<std::string> blt_files = {"config.json", "model.safetensors", "entropy_model/params.json",
                                              "entropy_model/model.safetensors", "train_args.json"};
  const std::vector<std::string>& files = blt_dir ? blt_files : entropy_files;
  const auto parts = fuzz::split_parts(fuzz::as_text(data + 1, size - 1), files.size());
  for (size_t i = 0; i < parts.size(); ++i) fuzz::put_file("m/" + files[i], parts[i]);
  const std::string dir = (fuzz::scratch_dir() / "m").string();
  fuzz::expect_errors([&] {
    if (blt_dir)
      (void)modeldir::BltModel::load(dir);
    else
      (void)modeldir::EntropyModel::load(dir);
  });
  return 0;
}
