// Checks for ops that write their float32 output's bf16 rounding as they go (ops::rmsnorm, ops::swiglu).
#pragma once

#include <gtest/gtest.h>

#include <cstring>

#include "core/bf16.h"
#include "core/tensor.h"

namespace blt::test {

// A bf16 tensor of `s` whose every element holds a bit pattern no rounding writes (0xffbf: a NaN with
// payload bits that to_bf16 never makes, since it keeps the quiet bit of the NaNs it rounds).
inline Tensor unwritten_bf16(const Shape& s) {
  Tensor t = Tensor::zeros(s, DType::BF16);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<bf16>()[i].bits = 0xffbf;
  return t;
}

// Every element of `rounded` (bf16) is to_bf16 of the same element of `out` (float32).
inline void expect_bf16_of(const TensorView& out, const TensorView& rounded) {
  ASSERT_EQ(out.numel(), rounded.numel());
  int64_t wrong = 0, first = -1;
  for (int64_t i = 0; i < out.numel(); ++i)
    if (rounded.data<bf16>()[i].bits != to_bf16(out.data<float>()[i]).bits) {
      wrong++;
      if (first < 0) first = i;
    }
  EXPECT_EQ(wrong, 0) << "first at element " << first;
}

}  // namespace blt::test
