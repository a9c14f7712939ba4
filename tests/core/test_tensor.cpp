// Tensor/TensorView: alignment, reshape, slice, shape errors; size arithmetic
// that must throw rather than wrap (Shape::numel, Arena, ParamRegistry, gemm).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "blas/gemm.h"
#include "core/arena.h"
#include "core/tensor.h"
#include "nn/params.h"

namespace blt::test {
namespace {

TEST(Tensor, StorageIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::zeros(Shape{n}, DType::F32);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.view().raw()) % 64, 0u);
  }
}

// Pages of [p, p + bytes) resident in memory (mincore).
size_t resident_pages(const void* p, size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(p) / page * page;
  const size_t n = (reinterpret_cast<uintptr_t>(p) + bytes - begin + page - 1) / page;
  std::vector<unsigned char> in(n);
  EXPECT_EQ(mincore(reinterpret_cast<void*>(begin), n * page, in.data()), 0);
  size_t r = 0;
  for (unsigned char c : in) r += c & 1;
  return r;
}

TEST(Tensor, BigZerosCostOnlyThePagesWritten) {
  // 64 MiB of zeros (a KV cache for a long context): zero everywhere, but memory is committed only where
  // written, not all at once as a memset would.
  const int64_t n = 16 << 20;
  Tensor t = Tensor::zeros(Shape{n, 1}, DType::F32);
  const float* f = t.data<float>();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f) % 64, 0u);
  EXPECT_LT(resident_pages(f, n * sizeof(float)), 64u);
  t.data<float>()[n / 2] = 3.f;
  EXPECT_EQ(f[0], 0.f);
  EXPECT_EQ(f[n - 1], 0.f);
  EXPECT_EQ(f[n / 2], 3.f);
  EXPECT_LT(resident_pages(f, n * sizeof(float)), 64u);
  // Small ones come from the heap, zeroed all the same.
  for (int64_t m : {0, 1, 1000, 200000}) {
    Tensor s = Tensor::zeros(Shape{m}, DType::F32);
    for (int64_t i = 0; i < m; ++i) ASSERT_EQ(s.data<float>()[i], 0.f) << m << " " << i;
  }
}

TEST(Tensor, ReshapeAndSliceShareMemory) {
  Tensor t = Tensor::zeros(Shape{4, 3, 2}, DType::F64);
  TensorView r = t.view().reshape(Shape{12, 2});
  EXPECT_EQ(r.raw(), t.view().raw());
  TensorView s = t.view().slice(1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(static_cast<double*>(s.raw()) - t.data<double>(), 6);
  EXPECT_THROW(t.view().reshape(Shape{5, 5}), ShapeError);
  EXPECT_THROW(t.view().slice(3, 5), ShapeError);
}

TEST(Tensor, DtypeIsChecked) {
  Tensor t = Tensor::zeros(Shape{2}, DType::F32);
  EXPECT_THROW(t.data<double>(), InternalError);
}

TEST(Shape, RankAndStrings) {
  Shape s{2, 7, 64};
  EXPECT_EQ(s.str(), "(2,7,64)");
  EXPECT_EQ(s.rows(), 14);
  EXPECT_EQ(s.with_last(3), (Shape{2, 7, 3}));
  EXPECT_EQ(s.appended(5), (Shape{2, 7, 64, 5}));
  EXPECT_THROW((Shape{1, 2, 3, 4}.appended(5)), ShapeError);
  EXPECT_THROW((Shape{1, -2}), ShapeError);
}

// ---------------------------------------------------------------- overflow-checked sizes

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

TEST(Shape, NumelOverflowThrowsEvenWithAZeroDimension) {
  const int64_t big = int64_t{1} << 62;
  EXPECT_THROW((Shape{big, big}).numel(), ShapeError);
  // The zero does not excuse the others: (2^62, 2^62, 0) used to wrap before the zero was reached.
  EXPECT_THROW((Shape{big, big, 0}).numel(), ShapeError);
  EXPECT_THROW((Shape{0, big, big}).numel(), ShapeError);
  EXPECT_EQ((Shape{big, 0}).numel(), 0);
  EXPECT_EQ((Shape{kI64Max}).numel(), kI64Max);
  EXPECT_EQ((Shape{3, 0, 5}).numel(), 0);
  EXPECT_EQ((Shape{2, 3, 4, 5}).numel(), 120);
  EXPECT_EQ(Shape{}.numel(), 1);
}

TEST(Tensor, ByteCountOverflowThrowsNamingTheShape) {
  // 2^62 elements fit int64, 2^62 * 4 bytes do not fit size_t: unchecked, the product wrapped to 0 and
  // a 64-byte block came back for a 16 EiB tensor.
  const int64_t quarter = int64_t{1} << 62;
  try {
    (void)Tensor::empty(Shape{quarter}, DType::F32);
    ADD_FAILURE() << "expected blt::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(4611686018427387904)"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)Tensor::zeros(Shape{int64_t{1} << 31, int64_t{1} << 31}, DType::F64), Error);
  EXPECT_THROW((void)Tensor::empty(Shape{kI64Max / 2 + 1, 1}, DType::F32), Error);
  EXPECT_EQ(checked_nbytes(Shape{3, 5}, DType::F64), 120u);
  // Storage's rounding up to 64 bytes must not wrap either.
  EXPECT_THROW((void)Storage(std::numeric_limits<size_t>::max() - 3), Error);
}

TEST(Arena, HugeRequestThrowsInsteadOfWrapping) {
  Arena arena(1024);
  // SIZE_MAX - 3 + 63 wraps to a 0-byte rounded request: a tiny block handed out for an enormous one.
  EXPECT_THROW(arena.alloc(std::numeric_limits<size_t>::max() - 3), Error);
  EXPECT_THROW(arena.alloc(std::numeric_limits<size_t>::max() - 100), Error);
  EXPECT_THROW(arena.alloc(Arena::kMaxBytes + 1), Error);
  EXPECT_THROW((void)Arena(std::numeric_limits<size_t>::max() - 3), Error);
  // numel * 8 wraps size_t, or just fits and then wraps the rounding.
  EXPECT_THROW(arena.empty(Shape{kI64Max}, DType::F64), Error);
  EXPECT_THROW(arena.empty(Shape{kI64Max / 4}, DType::F64), Error);
  // The arena still works afterwards.
  void* p = arena.alloc(100);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kAlign, 0u);
  EXPECT_EQ(arena.empty(Shape{3, 5}, DType::F32).numel(), 15);
}

TEST(ParamRegistry, HugeDeclarationsThrowInsteadOfWrappingOffsets) {
  {  // The total (and the next offset rounded up to 16 floats) would pass INT64_MAX.
    nn::ParamRegistry r(DType::F32);
    EXPECT_THROW(r.declare("a", Shape{kI64Max - 10}, nn::Init::zeros()), ShapeError);
    EXPECT_TRUE(r.params().empty());
  }
  {  // Each fits, the sum does not: 2^60 + 2^60 floats are 2^63 bytes.
    nn::ParamRegistry r(DType::F32);
    r.declare("a", Shape{int64_t{1} << 60}, nn::Init::zeros());
    try {
      r.declare("b", Shape{int64_t{1} << 60}, nn::Init::zeros());
      ADD_FAILURE() << "expected ShapeError";
    } catch (const ShapeError& e) {
      EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
    }
    EXPECT_EQ(r.params().size(), 1u);
    EXPECT_EQ(r.numel(), int64_t{1} << 60);
  }
  {  // The element count fits, the byte count (x8 for F64) does not.
    nn::ParamRegistry r(DType::F64);
    EXPECT_THROW(r.declare("a", Shape{int64_t{1} << 61}, nn::Init::zeros()), ShapeError);
  }
  // Small layouts are unchanged: 64-byte aligned offsets.
  nn::ParamRegistry r(DType::F32);
  r.declare("x", Shape{3}, nn::Init::zeros());
  r.declare("y", Shape{2, 2}, nn::Init::zeros());
  EXPECT_EQ(r.params()[1].offset, 16);
  EXPECT_EQ(r.numel(), 20);
}

TEST(Gemm, DimensionsBeyondIntThrowInsteadOfNarrowing) {
  float a[1] = {2}, b[1] = {3}, c[1] = {0};
  const int64_t wraps_to_1 = (int64_t{1} << 32) + 1;  // (int) of it is 1: a 1x1 GEMM would run silently
  EXPECT_THROW(blas::gemm<float>(false, false, wraps_to_1, 1, 1, 1.f, a, 1, b, 1, 0.f, c, 1), ShapeError);
  EXPECT_THROW(blas::gemm<float>(false, false, 1, wraps_to_1, 1, 1.f, a, 1, b, 1, 0.f, c, 1), ShapeError);
  EXPECT_THROW(blas::gemm<float>(false, false, 1, 1, wraps_to_1, 1.f, a, 1, b, 1, 0.f, c, 1), ShapeError);
  EXPECT_THROW(blas::gemm<float>(false, false, 1, 1, 1, 1.f, a, wraps_to_1, b, 1, 0.f, c, 1), ShapeError);
  EXPECT_THROW(blas::gemm<float>(false, false, 1, 1, 1, 1.f, a, 1, b, 1, 0.f, c, wraps_to_1), ShapeError);
  double ad[1] = {2}, bd[1] = {3}, cd[1] = {0};
  EXPECT_THROW(blas::gemm<double>(false, false, 1, 1, 1, 1., ad, 1, bd, wraps_to_1, 0., cd, 1), ShapeError);
  EXPECT_THROW(blas::gemm<double>(false, false, -1, 1, 1, 1., ad, 1, bd, 1, 0., cd, 1), ShapeError);
  EXPECT_EQ(c[0], 0.f);  // nothing ran
  blas::gemm<float>(false, false, 1, 1, 1, 1.f, a, 1, b, 1, 0.f, c, 1);
  EXPECT_EQ(c[0], 6.f);
  blas::gemm<double>(false, false, 1, 1, 1, 1., ad, 1, bd, 1, 0., cd, 1);
  EXPECT_EQ(cd[0], 6.);
}

}  // namespace
}  // namespace blt::test
