// swiglu: silu(a)·b values and gradients.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/elementwise.h"
#include "ops/swiglu.h"
#include "support/bf16_rounding.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(SwiGLU, Values) {
  Tensor a = random_tensor(Shape{9}, 1, 6.0, DType::F32), b = random_tensor(Shape{9}, 2, 1.0, DType::F32);
  Graph g;
  Var h = ops::swiglu(g, Graph::constant(a), Graph::constant(b));
  for (int64_t i = 0; i < 9; ++i) {
    const double x = a.at(i);
    EXPECT_NEAR(h.value.at(i), x / (1 + std::exp(-x)) * b.at(i), 1e-6);
  }
}

// h_bf16 holds the bf16 rounding of every element of the float32 output (a threaded call of a length that is
// no multiple of a vector and a short one; NaN and ±inf inputs), which is then not written.
TEST(SwiGLU, WritesTheOutputsBf16RoundingWhenGivenRoom) {
  for (const int64_t n : {int64_t{200003}, int64_t{13}}) {
    Tensor a = random_tensor(Shape{n}, 9, 30.0, DType::F32), b = random_tensor(Shape{n}, 10, 3.0, DType::F32);
    a.data<float>()[0] = NAN, a.data<float>()[1] = INFINITY, a.data<float>()[2] = -INFINITY;
    Tensor rounded = unwritten_bf16(Shape{n});
    Graph g;
    const Var plain = ops::swiglu(g, Graph::constant(a), Graph::constant(b));
    const Var h = ops::swiglu(g, Graph::constant(a), Graph::constant(b), rounded.view());
    EXPECT_EQ(h.shape(), plain.shape());
    expect_bf16_of(plain.value, rounded.view());
  }
}

TEST(SwiGLU, Bf16RoomMustMatchAFloat32Output) {
  Graph g;
  const Tensor a = Tensor::zeros(Shape{6}), a64 = Tensor::zeros(Shape{6}, DType::F64);
  EXPECT_THROW(ops::swiglu(g, Graph::constant(a), Graph::constant(a), unwritten_bf16(Shape{5}).view()),
               ShapeError);
  EXPECT_THROW(ops::swiglu(g, Graph::constant(a64), Graph::constant(a64), unwritten_bf16(Shape{6}).view()),
               ShapeError);
}

TEST(SwiGLU, GradCheck) {
  gradcheck("swiglu", {random_tensor(Shape{3, 11}, 3, 4.0), random_tensor(Shape{3, 11}, 4)},
            [](Graph& g, const std::vector<Var>& in) { return ops::swiglu(g, in[0], in[1]); });
  // a and b op outputs, their gradients written by the backward (first contributions); one output as both
  // a and b (da written, db added to it); and a later consumer of a (its contribution then added)
  gradcheck("swiglu of op outputs", {random_tensor(Shape{3, 11}, 5, 4.0), random_tensor(Shape{3, 11}, 6)},
            [](Graph& g, const std::vector<Var>& in) {
              const Var a = ops::scale(g, in[0], 0.5), b = ops::scale(g, in[1], 2.0);
              return ops::add(g, ops::swiglu(g, a, b), ops::scale(g, a, 3.0));
            });
  gradcheck("swiglu(y, y)", {random_tensor(Shape{2, 9}, 7, 3.0)}, [](Graph& g, const std::vector<Var>& in) {
    const Var y = ops::scale(g, in[0], -1.0);
    return ops::swiglu(g, y, y);
  });
}

// The vectorised backward (da and db, da alone, db alone; blocks of 16 and a tail) gives the bits of
// one-element calls (the loop's scalar remainder), and accumulates into what da and db held.
TEST(SwiGLU, BackwardVectorisedEqualsElementwise) {
  const int64_t N = 1000 + 7;
  Tensor a = random_tensor(Shape{N}, 5, 8.0, DType::F32), b = random_tensor(Shape{N}, 6, 1.0, DType::F32);
  Tensor dh = random_tensor(Shape{N}, 7, 1.0, DType::F32), init = random_tensor(Shape{N}, 8, 1.0, DType::F32);
  const float *pa = a.data<float>(), *pb = b.data<float>(), *pdh = dh.data<float>();
  std::vector<float> da_ref(init.data<float>(), init.data<float>() + N), db_ref = da_ref;
  for (int64_t i = 0; i < N; ++i)
    ops::swiglu_backward<float>(pa + i, pb + i, pdh + i, da_ref.data() + i, db_ref.data() + i, 1);
  for (const bool with_da : {true, false})
    for (const bool with_db : {true, false}) {
      std::vector<float> da(init.data<float>(), init.data<float>() + N), db = da;
      ops::swiglu_backward<float>(pa, pb, pdh, with_da ? da.data() : nullptr, with_db ? db.data() : nullptr, N);
      for (int64_t i = 0; i < N; ++i) {
        ASSERT_EQ(da[i], with_da ? da_ref[i] : init.data<float>()[i]) << "da " << i << " db " << with_db;
        ASSERT_EQ(db[i], with_db ? db_ref[i] : init.data<float>()[i]) << "db " << i << " da " << with_da;
      }
    }
  // overwrite_da / overwrite_db: what a zeroed gradient accumulates, whatever the buffer held
  std::vector<float> zda(N, 0.f), zdb(N, 0.f), da(N, NAN), db(N, NAN);
  ops::swiglu_backward<float>(pa, pb, pdh, zda.data(), zdb.data(), N);
  for (const bool overwrite_da : {true, false}) {
    std::fill(da.begin(), da.end(), overwrite_da ? NAN : 0.f);
    std::fill(db.begin(), db.end(), overwrite_da ? 0.f : NAN);
    ops::swiglu_backward<float>(pa, pb, pdh, da.data(), db.data(), N, overwrite_da, !overwrite_da);
    for (int64_t i = 0; i < N; ++i) {
      ASSERT_EQ(da[i], zda[i]) << "da " << i << " overwrite_da " << overwrite_da;
      ASSERT_EQ(db[i], zdb[i]) << "db " << i << " overwrite_da " << overwrite_da;
    }
  }
  const double x = pa[3], s = 1 / (1 + std::exp(-x));  // and the formula itself
  EXPECT_NEAR(da_ref[3] - init.data<float>()[3], pdh[3] * pb[3] * s * (1 + x * (1 - s)), 1e-5);
  EXPECT_NEAR(db_ref[3] - init.data<float>()[3], pdh[3] * x * s, 1e-5);
}

}  // namespace
}  // namespace blt::test
