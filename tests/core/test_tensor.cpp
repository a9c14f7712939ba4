// Tensor/TensorView: alignment, reshape, slice, shape errors.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/tensor.h"

namespace blt::test {
namespace {

TEST(Tensor, StorageIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::zeros(Shape{n}, DType::F32);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.view().raw()) % 64, 0u);
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

}  // namespace
}  // namespace blt::test
