// Arena: alignment, reuse after reset, no heap allocation in steady state.
#include <gtest/gtest.h>

#include <cstdint>

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

}  // namespace
}  // namespace blt::test
