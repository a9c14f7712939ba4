// A warm cached generation step allocates nothing: this binary replaces the
// C allocation functions (malloc, calloc, realloc, aligned_alloc,
// posix_memalign, memalign; operator new reaches them too) with counting
// forwards to glibc, counting only while a test enables it, on every thread.
// After a prefill and warm-up steps, 20 decode steps (sample, patch lengths,
// feed one byte) of the cached BLT and byte-LM decoders must make zero
// allocations; on failure each distinct allocation site is printed (raw
// backtrace) with its count. Sanitizer builds keep their own allocator and skip.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <vector>

#include "core/rng.h"
#include "data/tokenizer.h"
#include "generate/blt_decoder.h"
#include "generate/lm_decoder.h"
#include "generate/sampler.h"
#include "patching/row_patcher.h"
#include "generate/entropy_blt.h"
#include "support/tiny_models.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BLT_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define BLT_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef BLT_COUNT_ALLOCATIONS
#define BLT_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_count{0};
thread_local bool t_inside = false;  // backtrace() may allocate: do not count (or recurse into) that

constexpr int kSites = 4096, kFrames = 10;  // the allocations recorded, innermost frames of each
void* g_frames[kSites][kFrames];
int g_depth[kSites];
size_t g_size[kSites];

void note(size_t bytes) {
  if (!g_counting.load(std::memory_order_relaxed) || t_inside) return;
  t_inside = true;
  const int64_t i = g_count.fetch_add(1);
  if (i < kSites) {
    g_size[i] = bytes;
    g_depth[i] = backtrace(g_frames[i], kFrames);
  }
  t_inside = false;
}
}  // namespace

#if BLT_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

void* malloc(size_t n) noexcept {
  note(n);
  return __libc_malloc(n);
}
void* calloc(size_t k, size_t n) noexcept {
  note(k * n);
  return __libc_calloc(k, n);
}
void* realloc(void* p, size_t n) noexcept {
  note(n);
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t align, size_t n) noexcept {
  note(n);
  return __libc_memalign(align, n);
}
void* memalign(size_t align, size_t n) noexcept {
  note(n);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) noexcept {
  note(n);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

namespace blt::test {
namespace {

// Counts allocations (every thread) while alive.
class CountAllocations {
 public:
  CountAllocations() {
    g_count = 0;
    g_counting = true;
  }
  ~CountAllocations() { g_counting = false; }
  int64_t count() const { return g_count.load(); }
};

// The recorded allocation sites, each distinct call chain once with its count (raw frames: c++filt
// demangles them, addr2line -Cfe <binary> resolves the offsets).
void print_sites(int64_t n) {
  n = std::min<int64_t>(n, kSites);
  std::vector<bool> shown(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (shown[i]) continue;
    int64_t same = 0;
    size_t bytes = 0;
    for (int64_t j = i; j < n; ++j)
      if (!shown[j] && g_depth[j] == g_depth[i] &&
          std::equal(g_frames[i], g_frames[i] + g_depth[i], g_frames[j])) {
        shown[j] = true;
        ++same;
        bytes += g_size[j];
      }
    fprintf(stderr, "%lld allocations (%zu bytes in all) at\n", static_cast<long long>(same), bytes);
    backtrace_symbols_fd(g_frames[i], g_depth[i], STDERR_FILENO);
  }
}

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
  void* warm_frames[4];
  backtrace(warm_frames, 4);  // loads the unwinder now, outside the measurement
  const int64_t g0 = d.global_steps();
  int64_t n = 0;
  {
    CountAllocations count;
    for (int i = 0; i < steps; ++i) step();
    n = count.count();
  }
  if (n > 0) print_sites(n);
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
