// A warm cached generation step allocates nothing (allocations counted by
// the hook of support/count_allocations.h, on every thread): after a prefill
// and warm-up steps, 20 decode steps (sample, patch lengths, feed one byte) of
// the cached BLT and byte-LM decoders must make zero allocations; on failure
// each distinct allocation site is printed (raw backtrace) with its count.
// Sanitizer builds keep their own allocator and skip.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/rng.h"
#include "data/tokenizer.h"
#include "generate/blt_decoder.h"
#include "generate/lm_decoder.h"
#include "generate/sampler.h"
#include "patching/row_patcher.h"
#include "generate/entropy_blt.h"
#include "support/count_allocations.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

// Prefills `prompt`, runs `warm` sampled steps, then counts allocations over `steps` more (each: sample,
// patch lengths, feed the byte). Returns the count and the global steps during the measured ones.
std::pair<int64_t, int64_t> measure(gen::Decoder& d, const std::string& prompt, int warm, int steps) {
  gen::Sampler sampler({.temperature = 1, .top_k = 0, .top_p = 0.95, .seed = 3});
  const std::vector<int32_t> ids = data::encode(prompt, true, false);
  auto logits = d.feed(ids);
  int32_t next = 0;
  const auto step = [&] {
    next = sampler.sample(logits);
    if (next < data::kOffset) next = ' ' + data::kOffset;  // keep the context byte-only (EOS resets patching)
    (void)d.patch_lengths();
    logits = d.feed({&next, 1});
  };
  for (int i = 0; i < warm; ++i) step();
  prepare_allocation_backtraces();  // loads the unwinder now, outside the measurement
  const int64_t g0 = d.global_steps();
  int64_t n = 0;
  {
    CountAllocations count;
    for (int i = 0; i < steps; ++i) step();
    n = count.count();
  }
  if (n > 0) print_allocation_sites(n);
  return {n, d.global_steps() - g0};
}

TEST(StepAllocations, WarmCachedBltStepAllocatesNothing) {
  if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "sanitizer build: the allocator is not replaced";
  const auto m = entropy_blt(128, "the cat sat on the mat and then it ran off to see a dog");
  gen::BltCachedDecoder d(m);
  const auto [n, global] = measure(d, "the cat sat on the mat", 30, 20);
  EXPECT_EQ(n, 0) << "allocations in 20 warm cached BLT steps (sites above)";
  EXPECT_GT(global, 0) << "the measured steps must close patches (run the global model)";
}

TEST(StepAllocations, WarmCachedByteLmStepAllocatesNothing) {
  if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "sanitizer build: the allocator is not replaced";
  auto lm = modeldir::EntropyModel::create(tiny_lm_args(128, 16), {});
  Rng init(5);
  lm.params->initialize(init);
  gen::LmCachedDecoder d(*lm.model);
  const auto [n, global] = measure(d, "the cat sat on the mat", 30, 20);
  EXPECT_EQ(n, 0) << "allocations in 20 warm cached byte-LM steps (sites above)";
  EXPECT_EQ(global, 0);
}

// The counter itself works: an allocation inside the window is seen.
TEST(StepAllocations, CounterSeesAnAllocation) {
  if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "sanitizer build: the allocator is not replaced";
  int64_t n = 0;
  {
    CountAllocations count;
    auto v = std::make_unique<std::vector<int>>(100);
    asm volatile("" : : "r"(v->data()) : "memory");  // keep the allocation
    n = count.count();
  }
  EXPECT_GE(n, 2);
}

}  // namespace
}  // namespace blt::test
