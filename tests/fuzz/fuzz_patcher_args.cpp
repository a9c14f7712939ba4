// Fuzz target: a patcher_args object (patching::parse_patcher_args). Settings it
// accepts must survive the round trip through to_json (they are saved beside
// models and read back) and must patch a fixed row of bytes and entropies, in one
// call and incrementally, as `blt patch` and training do with them.
#include <cstdint>

#include "fuzz_support.h"
#include "patching/incremental.h"
#include "patching/patcher.h"
#include "patching/patcher_args.h"

namespace {

using namespace blt;

void patch_a_row(const patching::PatcherArgs& args) {
  const std::vector<int32_t> tokens = {1, 76, 105, 36, 3, 36, 200, 44, 36, 111, 2};
  const std::vector<float> entropies = {2.5f, 0.1f, 3.0f, 1e30f, 0.0f, 1.4f, 1.2f, 5.0f, 0.3f, 0.2f, 2.0f};
  fuzz::expect_errors([&] { (void)patching::patch_lengths(args, tokens, entropies, true); });
  fuzz::expect_errors([&] { (void)patching::patch_lengths(args, tokens, entropies, false); });
  fuzz::expect_errors([&] {
    patching::IncrementalPatcher p(args);
    for (size_t i = 0; i < tokens.size(); ++i) p.push(tokens[i], entropies[i]);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::silence_warnings();
  const auto j = fuzz::parse_json(fuzz::as_text(data, size));
  if (!j) return 0;
  std::optional<patching::PatcherArgs> args;
  fuzz::expect_errors([&] { args = patching::parse_patcher_args(*j, "fuzz: patcher_args"); });
  if (!args) return 0;
  (void)patching::parse_patcher_args(patching::to_json(*args), "fuzz: round trip");
  patch_a_row(*args);
  return 0;
}
