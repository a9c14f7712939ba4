// Fuzz target: a checkpoint's train_state.json object (train::train_state_from_json:
// step, data position, RNG words, counters). An accepted state must survive the
// round trip through to_json, as every checkpoint writes it back.
#include <cstdint>

#include "fuzz_support.h"
#include "train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  fuzz::silence_warnings();
  const auto j = fuzz::parse_json(fuzz::as_text(data, size));
  if (!j) return 0;
  std::optional<train::TrainState> s;
  fuzz::expect_errors([&] { s = train::train_state_from_json(*j, "fuzz: train_state.json"); });
  if (s) (void)train::train_state_from_json(train::to_json(*s), "fuzz: round trip");
  return 0;
}
