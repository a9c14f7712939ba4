// DType: names and sizes of f32/f64/bf16; dispatch() refuses bf16 (no kernel computes in it) with a
// clear message, dispatch_storage() admits it; bf16 tensors allocate, slice, zero and read (at()).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/arena.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace blt::test {
namespace {

TEST(DType, NamesSizesAndTypes) {
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_name(DType::F32), "f32");
  EXPECT_EQ(dtype_name(DType::F64), "f64");
  EXPECT_EQ(dtype_name(DType::BF16), "bf16");
  static_assert(dtype_of<float>() == DType::F32 && dtype_of<double>() == DType::F64);
  static_assert(dtype_of<bf16>() == DType::BF16);
}

TEST(DType, DispatchRefusesBf16AndDispatchStorageAdmitsIt) {
  EXPECT_EQ(dispatch(DType::F32, []<class T>() { return dtype_of<T>(); }), DType::F32);
  EXPECT_EQ(dispatch(DType::F64, []<class T>() { return dtype_of<T>(); }), DType::F64);
  bool ran = false;
  try {
    dispatch(DType::BF16, [&]<class T>() { ran = true; });
    FAIL() << "dispatch ran a kernel on bf16";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a bf16 tensor on a float32/float64 kernel"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(dispatch_storage(DType::BF16, []<class T>() { return dtype_of<T>(); }), DType::BF16);
  EXPECT_EQ(dispatch_storage(DType::F64, []<class T>() { return dtype_of<T>(); }), DType::F64);
}

TEST(DType, FromFloatRoundsOnlyForBf16) {
  const float x = 1.00390625f;  // 1 + 2^-8: a tie between the bf16 values 1 and 1 + 2^-7
  EXPECT_EQ(from_float<float>(x), x);
  EXPECT_EQ(from_float<double>(x), static_cast<double>(x));
  EXPECT_EQ(from_float<bf16>(x).bits, to_bf16(x).bits);
  EXPECT_EQ(to_float(from_float<bf16>(x)), 1.f);  // ties to even
}

TEST(DType, Bf16TensorsAllocateSliceAndRead) {
  Tensor t = Tensor::zeros(Shape{3, 5}, DType::BF16);
  EXPECT_EQ(t.view().nbytes(), 30u);
  EXPECT_EQ(t.view().at(14), 0.0);
  bf16* p = t.data<bf16>();
  p[0] = to_bf16(1.5f);
  p[6] = to_bf16(-std::numeric_limits<float>::infinity());
  p[7] = to_bf16(3.0e38f);
  p[14] = to_bf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(t.view().at(0), 1.5);
  EXPECT_EQ(t.view().at(6), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.view().at(7), static_cast<double>(round_bf16(3.0e38f)));
  EXPECT_TRUE(std::isnan(t.view().at(14)));
  const TensorView row1 = t.view().slice(1, 2);  // 5 bf16 = 10 bytes in
  EXPECT_EQ(static_cast<char*>(row1.raw()) - static_cast<char*>(t.view().raw()), 10);
  EXPECT_EQ(row1.at(1), -std::numeric_limits<double>::infinity());
  EXPECT_THROW(t.data<float>(), InternalError);
  Arena arena(1024);
  const TensorView z = arena.zeros(Shape{7}, DType::BF16);
  EXPECT_EQ(z.nbytes(), 14u);
  EXPECT_EQ(z.at(6), 0.0);
}

}  // namespace
}  // namespace blt::test
