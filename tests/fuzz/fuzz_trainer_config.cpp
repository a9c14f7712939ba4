// Fuzz target: the trainer settings object of run.json's "train" field and of a
// training config's "train" section (train::trainer_config_from_json).
#include <cstdint>

#include "fuzz_support.h"
#include "train/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  fuzz::silence_warnings();
  const auto j = fuzz::parse_json(fuzz::as_text(data, size));
  if (!j) return 0;
  fuzz::expect_errors([&] { (void)train::trainer_config_from_json(*j, "fuzz: run.json: train"); });
  return 0;
}
