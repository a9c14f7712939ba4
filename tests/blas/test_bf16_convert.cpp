// blas::to_bf16 / blas::to_float arrays against core/bf16.h's scalar conversions, bit for bit:
// special values (NaN payloads, ±inf, ±0, denormals, ties, overflow to inf), each filling a
// whole 16-lane block so the AVX512-BF16 path sees it; 1e6 random bit patterns; every bf16;
// long arrays split across 3 threads (block boundaries that are not a multiple of the array).
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "blas/cpu_features.h"
#include "blas/gemm.h"
#include "blas/gemm_bf16.h"
#include "core/rng.h"

namespace blt::test {
namespace {

// to_bf16 over x, block path and tails: every result must equal the scalar to_bf16's bits.
void expect_same_as_scalar(const std::vector<float>& x) {
  for (size_t offset : {size_t{0}, size_t{1}}) {  // offset 1: unaligned input, a tail of 15
    if (offset > x.size()) continue;
    const size_t n = x.size() - offset;
    std::vector<bf16> y(n);
    blas::to_bf16(x.data() + offset, y.data(), static_cast<int64_t>(n));
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(y[i].bits, to_bf16(x[offset + i]).bits)
          << "x bits 0x" << std::hex << std::bit_cast<uint32_t>(x[offset + i]) << " at " << std::dec << i;
  }
}

TEST(Bf16Convert, SpecialValuesMatchTheScalarBitForBit) {
  SCOPED_TRACE(blas::cpu_has_avx512_bf16() ? "AVX512-BF16 path" : "portable path only (no AVX512-BF16)");
  const uint32_t specials[] = {
      0x00000000, 0x80000000,                          // ±0
      0x7f800000, 0xff800000,                          // ±inf
      0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001,  // quiet and signalling NaN, both signs
      0x7fffffff, 0x7f80ffff, 0x7fbf0000,              // NaN payloads (low bits only, high bits)
      0x00000001, 0x80000001, 0x007fffff, 0x807fffff,  // denormals: smallest, largest (rounds to normal)
      0x00008000, 0x00018000, 0x007f8000, 0x00400000,  // denormal ties and a bf16 denormal
      0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff,  // ties to even (down, up), just above, just below
      0x7f7fffff, 0x7f7f7fff, 0xff7fffff,              // overflow to ±inf, largest that stays finite
      0x00800000, 0x3f800000, 0xbf800000,              // smallest normal, ±1
  };
  for (uint32_t s : specials) expect_same_as_scalar(std::vector<float>(16, std::bit_cast<float>(s)));
  std::vector<float> all;
  for (uint32_t s : specials) all.push_back(std::bit_cast<float>(s));
  expect_same_as_scalar(all);
  expect_same_as_scalar({});
}

TEST(Bf16Convert, RandomBitPatternsMatchTheScalar) {
  Rng rng(11);
  std::vector<float> x(1'000'000);
  for (size_t i = 0; i < x.size(); ++i)  // half raw bit patterns (every class), half plain values
    x[i] = i % 2 ? std::bit_cast<float>(static_cast<uint32_t>(rng.next_u64())) : static_cast<float>(rng.normal());
  expect_same_as_scalar(x);
}

TEST(Bf16Convert, ToFloatIsExactForEveryBf16) {
  std::vector<bf16> x(65536);
  for (uint32_t i = 0; i < 65536; ++i) x[i].bits = static_cast<uint16_t>(i);
  std::vector<float> y(x.size() - 1);
  blas::to_float(x.data() + 1, y.data(), static_cast<int64_t>(y.size()));  // a tail of 15
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(y[i]), static_cast<uint32_t>(x[i + 1].bits) << 16) << "bf16 " << i + 1;
  blas::to_float(x.data(), y.data(), 0);  // n = 0 writes nothing
  EXPECT_EQ(std::bit_cast<uint32_t>(y[0]), 1u << 16);
}

// Arrays long enough to be split across threads (3 of them: uneven blocks, a short last one) give the
// scalar bits both ways, whatever the split.
TEST(Bf16Convert, SplitAcrossThreadsGivesTheSameBits) {
  const int before = blas::num_threads();
  blas::set_num_threads(3);
  Rng rng(12);
  std::vector<float> x(200'003);
  for (float& v : x) v = std::bit_cast<float>(static_cast<uint32_t>(rng.next_u64()));
  expect_same_as_scalar(x);
  std::vector<bf16> b(x.size());
  for (size_t i = 0; i < x.size(); ++i) b[i] = to_bf16(x[i]);
  std::vector<float> y(x.size());
  blas::to_float(b.data(), y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(y[i]), static_cast<uint32_t>(b[i].bits) << 16) << "bf16 at " << i;
  blas::set_num_threads(before);
}

}  // namespace
}  // namespace blt::test
