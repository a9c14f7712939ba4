// Arena: alignment, reuse after reset, no heap allocation in steady state,
// mark/rewind across chunk boundaries and the peak it leaves.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "core/arena.h"

namespace blt::test {
namespace {

TEST(Arena, StepsAllocateNothingAfterWarmUp) {
  Arena a(1024);
  auto step = [&] {
    for (int i = 0; i < 50; ++i) {
      void* p = a.alloc(1000 + i * 37);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    }
    a.reset();
  };
  step();
  const size_t after_first = a.heap_allocations();
  step();  // merged into one block at the first reset
  const size_t after_second = a.heap_allocations();
  for (int i = 0; i < 5; ++i) step();
  EXPECT_GT(after_first, 2u);               // the first step outgrew the initial block (then merged)
  EXPECT_EQ(after_second, after_first);     // the merged block holds a whole step
  EXPECT_EQ(a.heap_allocations(), after_second);
}

TEST(Arena, ZerosAreZero) {
  Arena a;
  TensorView v = a.empty(Shape{100}, DType::F32);
  for (int64_t i = 0; i < 100; ++i) v.data<float>()[i] = 1.0f;
  a.reset();
  TensorView z = a.zeros(Shape{100}, DType::F32);
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(z.at(i), 0.0);
}

TEST(Arena, RewindFreesWhatCameAfterTheMarkAcrossChunks) {
  Arena a(1024);
  auto* kept = static_cast<unsigned char*>(a.alloc(512));
  std::memset(kept, 0x5A, 512);
  const Arena::Mark m = a.mark();
  void* q1 = a.alloc(800);   // does not fit the first chunk: a second one
  void* q2 = a.alloc(3000);  // a third
  std::memset(q1, 0, 800);
  std::memset(q2, 0, 3000);
  const size_t heap = a.heap_allocations();
  EXPECT_EQ(heap, 3u);
  a.rewind(m);
  EXPECT_EQ(a.alloc(800), q1);  // the same blocks again, from the chunks already there
  EXPECT_EQ(a.alloc(3000), q2);
  EXPECT_EQ(a.heap_allocations(), heap);
  a.rewind(m);
  EXPECT_EQ(a.alloc(256), kept + 512);  // the first chunk's free tail again
  for (int i = 0; i < 512; ++i) ASSERT_EQ(kept[i], 0x5A) << i;  // what came before the mark stays
}

TEST(Arena, PeakCountsBytesHeldAtOnce) {
  Arena a(1024);
  auto layers = [&] {
    a.alloc(1024);
    const Arena::Mark m = a.mark();
    for (int l = 0; l < 10; ++l) {
      a.alloc(4096);
      a.alloc(100);  // 128 with the 64-byte rounding
      a.rewind(m);
    }
  };
  layers();
  EXPECT_EQ(a.peak_bytes(), 1024u + 4096u + 128u);  // one layer's bytes, not ten
  a.reset();  // merges the chunks into one block of at least the peak
  const size_t heap = a.heap_allocations();
  for (int s = 0; s < 3; ++s) {
    layers();
    a.reset();
  }
  EXPECT_EQ(a.heap_allocations(), heap);
  EXPECT_EQ(a.peak_bytes(), 1024u + 4096u + 128u);
}

TEST(Arena, RewindRejectsAMarkFromBeforeAReset) {
  Arena a(1024);
  a.alloc(100);
  const Arena::Mark m = a.mark();
  a.reset();
  a.alloc(200);
  EXPECT_THROW(a.rewind(m), InternalError);
}

TEST(Arena, RewindRejectsAMarkAheadOfThePosition) {
  Arena a(1024);
  const Arena::Mark start = a.mark();
  a.alloc(100);
  const Arena::Mark ahead = a.mark();
  a.rewind(start);
  EXPECT_THROW(a.rewind(ahead), InternalError);
}

}  // namespace
}  // namespace blt::test
