// linear: forward against the naive GEMM, backward against finite differences, shape errors.
#include <gtest/gtest.h>

#include "blas/gemm.h"
#include "ops/linear.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

struct LinearCase {
  Shape x;
  int64_t out;
};

TEST(Linear, ForwardMatchesNaiveGemm) {
  for (const LinearCase& c : {LinearCase{{1, 1}, 1}, LinearCase{{7, 13}, 5}, LinearCase{{3, 4, 17}, 9}}) {
    const int64_t in = c.x.last(), N = c.x.rows();
    Tensor x = random_tensor(c.x, 1, 1.0, DType::F32), w = random_tensor(Shape{c.out, in}, 2, 1.0, DType::F32);
    Graph g;
    Var y = ops::linear(g, Graph::constant(x), Graph::constant(w));
    Tensor ref = Tensor::zeros(y.shape(), DType::F32);
    blas::gemm_naive<float>(false, true, N, c.out, in, 1.f, x.data<float>(), in, w.data<float>(), in, 0.f,
                            ref.data<float>(), c.out);
    EXPECT_LT(max_abs_diff(y.value, ref), 1e-5) << c.x.str();
  }
}

TEST(Linear, GradCheck) {
  for (const LinearCase& c : {LinearCase{{1, 1}, 1}, LinearCase{{5, 7}, 3}, LinearCase{{2, 3, 9}, 11}}) {
    gradcheck("linear " + c.x.str(), {random_tensor(c.x, 3), random_tensor(Shape{c.out, c.x.last()}, 4)},
              [](Graph& g, const std::vector<Var>& in) { return ops::linear(g, in[0], in[1]); });
  }
}

TEST(Linear, BackwardAccumulates) {
  Tensor x = random_tensor(Shape{3, 4}, 5), w = random_tensor(Shape{2, 4}, 6);
  Tensor dx = Tensor::zeros(x.shape(), DType::F64), dw = Tensor::zeros(w.shape(), DType::F64);
  Tensor dy = random_tensor(Shape{3, 2}, 7);
  ops::linear_backward<double>(x.data<double>(), w.data<double>(), dy.data<double>(), dx.data<double>(),
                               dw.data<double>(), 3, 4, 2);
  Tensor dx1 = Tensor::empty(x.shape(), DType::F64);
  dx1.view().copy_from(dx);
  ops::linear_backward<double>(x.data<double>(), w.data<double>(), dy.data<double>(), dx.data<double>(), nullptr,
                               3, 4, 2);
  for (int64_t i = 0; i < dx.numel(); ++i) EXPECT_DOUBLE_EQ(dx.at(i), 2 * dx1.at(i));
}

TEST(Linear, ShapeMismatchNamesBothShapes) {
  Tensor x = Tensor::zeros(Shape{4, 7}), w = Tensor::zeros(Shape{3, 5});
  Graph g;
  try {
    ops::linear(g, Graph::constant(x), Graph::constant(w));
    FAIL() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "[linear] x (4,7) vs w (3,5)");
  }
}

}  // namespace
}  // namespace blt::test
