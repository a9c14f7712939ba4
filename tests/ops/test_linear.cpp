// linear: forward against the naive GEMM, backward against finite differences, shape errors; the
// mixed-precision path (BF16 graphs) against a float64 reference on bf16-rounded operands.
#include <gtest/gtest.h>

#include <cmath>

#include "blas/gemm.h"
#include "blas/gemm_bf16.h"
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

// A float32 tensor of seeded values, and its values rounded to bf16 (as float32), and their bf16 bits.
struct Bf16Operand {
  Tensor f32, rounded;
  std::vector<bf16> bits;
  Bf16Operand(Shape s, uint64_t seed) : f32(random_tensor(s, seed, 1.0, DType::F32)), rounded(Tensor::empty(s)) {
    bits.resize(static_cast<size_t>(f32.numel()));
    for (int64_t i = 0; i < f32.numel(); ++i) {
      bits[static_cast<size_t>(i)] = to_bf16(f32.data<float>()[i]);
      rounded.data<float>()[i] = round_bf16(f32.data<float>()[i]);
    }
  }
};

// C (M,N) = A (M,K) · op(B) in float64 (B stored (N,K) when trans_b, else (K,N)), and the tolerance of each
// entry: bf16 operands have 8 significant bits, so every product a·b is exact in float32 (16 bits <= 24)
// and the only error of a float32-accumulating engine is the K-term sum, |err| <= K·2^-24·Σ|a·b| (the
// standard bound γ_K); we allow twice that, plus 1e-30 for exact zeros.
void reference(const float* A, const float* B, bool trans_b, int64_t M, int64_t N, int64_t K, std::vector<double>& c,
               std::vector<double>& tol) {
  c.assign(static_cast<size_t>(M * N), 0.0);
  tol.assign(c.size(), 1e-30);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) {
        const double p = double(A[i * K + k]) * double(trans_b ? B[j * K + k] : B[k * N + j]);
        c[static_cast<size_t>(i * N + j)] += p;
        tol[static_cast<size_t>(i * N + j)] += 2.0 * static_cast<double>(K) * std::ldexp(std::fabs(p), -24);
      }
}

// Entries of `got` outside reference ± tolerance (a message naming the first), or "".
std::string outside(const std::string& what, const TensorView& got, const std::vector<double>& ref,
                    const std::vector<double>& tol) {
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(std::fabs(got.at(static_cast<int64_t>(i)) - ref[i]) <= tol[i]))
      return what + "[" + std::to_string(i) + "] = " + std::to_string(got.at(static_cast<int64_t>(i))) +
             ", reference " + std::to_string(ref[i]) + " ± " + std::to_string(tol[i]);
  return "";
}

// x (N,in) · w (out,in)ᵀ on a BF16 graph, forward and backward, against float64 on bf16(x), bf16(w), bf16(dy):
// y = bf16(x)·bf16(w)ᵀ, dx = bf16(dy)·bf16(w), dw = bf16(dy)ᵀ·bf16(x). With `mirror` the weight's bf16 copy is
// passed (as nn::Linear passes the registry's) and must be what the products read.
void check_bf16_linear(const LinearCase& c, bool mirror) {
  const int64_t in = c.x.last(), N = c.x.rows(), out = c.out;
  const Bf16Operand x(c.x, 11), w(Shape{out, in}, 12), dy(c.x.with_last(out), 13);
  Tensor dx = Tensor::zeros(c.x), dw = Tensor::zeros(w.f32.shape());
  Graph g;
  g.set_precision(Precision::BF16);
  std::vector<bf16> w_bits = w.bits;
  const TensorView w_bf16(w_bits.data(), w.f32.shape(), DType::BF16);
  Var y = ops::linear(g, Var(x.f32.view(), dx.view()), Var(w.f32.view(), dw.view()), mirror ? w_bf16 : TensorView{});
  y.grad().copy_from(dy.f32);
  g.backward();
  std::vector<double> ref, tol;
  const std::string name = c.x.str() + (mirror ? " with the bf16 mirror" : " converting w");
  // dwᵀ's operands: dyᵀ (out,N) and x (N,in), i.e. A = dyᵀ; build it transposed for the reference.
  std::vector<float> dyt(static_cast<size_t>(N * out));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) dyt[static_cast<size_t>(o * N + n)] = dy.rounded.data<float>()[n * out + o];
  reference(x.rounded.data<float>(), w.rounded.data<float>(), true, N, out, in, ref, tol);
  EXPECT_EQ(outside("y", y.value, ref, tol), "") << name;
  reference(dy.rounded.data<float>(), w.rounded.data<float>(), false, N, in, out, ref, tol);
  EXPECT_EQ(outside("dx", dx, ref, tol), "") << name;
  reference(dyt.data(), x.rounded.data<float>(), false, out, in, N, ref, tol);
  EXPECT_EQ(outside("dw", dw, ref, tol), "") << name;
}

TEST(LinearBf16, ForwardAndBackwardMatchFloat64OnBf16RoundedOperands) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  for (const LinearCase& c : {LinearCase{{1, 1}, 1}, LinearCase{{7, 13}, 5}, LinearCase{{3, 4, 17}, 9},
                              LinearCase{{50, 96}, 40}})
    for (bool mirror : {false, true}) check_bf16_linear(c, mirror);
}

// The products read the bf16 copy they are given, not the float32 weight: a copy of 2·w doubles y.
TEST(LinearBf16, ReadsTheGivenBf16Weights) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  const Bf16Operand x(Shape{4, 8}, 21), w(Shape{3, 8}, 22);
  std::vector<bf16> twice(w.bits.size());
  for (size_t i = 0; i < twice.size(); ++i) twice[i] = to_bf16(2 * to_float(w.bits[i]));  // exact
  Graph g;
  g.set_precision(Precision::BF16);
  const Var once = ops::linear(g, Graph::constant(x.f32), Graph::constant(w.f32));
  const Var doubled = ops::linear(g, Graph::constant(x.f32), Graph::constant(w.f32),
                                  TensorView(twice.data(), w.f32.shape(), DType::BF16));
  for (int64_t i = 0; i < once.value.numel(); ++i) EXPECT_EQ(doubled.value.at(i), 2 * once.value.at(i)) << i;
}

// Float32 graphs keep the float path bit for bit, and float64 graphs ignore the precision (gradient checks).
TEST(LinearBf16, Float32PrecisionAndFloat64GraphsRunTheFloatPath) {
  for (DType t : {DType::F32, DType::F64}) {
    Tensor x = random_tensor(Shape{5, 7}, 31, 1.0, t), w = random_tensor(Shape{3, 7}, 32, 1.0, t);
    Tensor ref = Tensor::zeros(Shape{5, 3}, t);
    dispatch(t, [&]<class T>() { ops::linear_forward<T>(x.data<T>(), w.data<T>(), ref.data<T>(), 5, 7, 3); });
    for (Precision p : {Precision::F32, Precision::BF16}) {
      if (p == Precision::BF16 && t == DType::F32) continue;  // the bf16 path, checked above
      Graph g;
      g.set_precision(p);
      const Var y = ops::linear(g, Graph::constant(x), Graph::constant(w));
      EXPECT_EQ(max_abs_diff(y.value, ref), 0.0) << dtype_name(t) << " at " << precision_name(p);
    }
  }
}

// bf16_input rounds x as linear would (the same bits), and only where linear's products run in bf16.
TEST(LinearBf16, Bf16InputIsXRoundedWhereTheProductsRunInBf16) {
  const Bf16Operand x(Shape{3, 8}, 41);
  Graph g32;
  EXPECT_FALSE(ops::bf16_input(g32, Graph::constant(x.f32)).defined());
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  Graph g;
  g.set_precision(Precision::BF16);
  const TensorView xb = ops::bf16_input(g, Graph::constant(x.f32));
  ASSERT_TRUE(xb.defined());
  EXPECT_EQ(xb.shape(), x.f32.shape());
  EXPECT_EQ(xb.dtype(), DType::BF16);
  for (int64_t i = 0; i < x.f32.numel(); ++i)
    EXPECT_EQ(xb.data<bf16>()[i].bits, x.bits[static_cast<size_t>(i)].bits) << i;
}

// Linears given x's shared rounding give the bits they give alone, forward and backward; and they read
// the rounding they are given: 2·x's doubles y.
TEST(LinearBf16, ASharedBf16InputGivesTheSameBitsAndIsRead) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  const Bf16Operand x(Shape{6, 16}, 51), w(Shape{4, 16}, 52), dy(Shape{6, 4}, 53);
  const auto run = [&](bool shared, Tensor& dx, Tensor& dw) {
    Graph g;
    g.set_precision(Precision::BF16);
    const Var xv(x.f32.view(), dx.view()), wv(w.f32.view(), dw.view());
    Var y = ops::linear(g, xv, wv, {}, shared ? ops::bf16_input(g, xv) : TensorView{});
    y.grad().copy_from(dy.f32);
    g.backward();
    Tensor out = Tensor::empty(y.shape());
    out.view().copy_from(y.value);
    return out;
  };
  Tensor dx0 = Tensor::zeros(x.f32.shape()), dw0 = Tensor::zeros(w.f32.shape());
  Tensor dx1 = Tensor::zeros(x.f32.shape()), dw1 = Tensor::zeros(w.f32.shape());
  const Tensor alone = run(false, dx0, dw0), shared = run(true, dx1, dw1);
  EXPECT_EQ(max_abs_diff(alone, shared), 0.0);
  EXPECT_EQ(max_abs_diff(dx0, dx1), 0.0);
  EXPECT_EQ(max_abs_diff(dw0, dw1), 0.0);
  std::vector<bf16> twice(x.bits.size());
  for (size_t i = 0; i < twice.size(); ++i) twice[i] = to_bf16(2 * to_float(x.bits[i]));  // exact
  Graph g;
  g.set_precision(Precision::BF16);
  const Var doubled = ops::linear(g, Graph::constant(x.f32), Graph::constant(w.f32), {},
                                  TensorView(twice.data(), x.f32.shape(), DType::BF16));
  for (int64_t i = 0; i < alone.numel(); ++i) EXPECT_EQ(doubled.value.at(i), 2 * alone.at(i)) << i;
}

// The bf16 copies given for w (the mirror) and for x (a shared rounding) must have their tensor's shape.
TEST(LinearBf16, Bf16CopiesMustHaveTheirTensorsShape) {
  Tensor x = Tensor::zeros(Shape{2, 4}), w = Tensor::zeros(Shape{3, 4});
  std::vector<bf16> bits(12);
  const auto error = [&](const TensorView& w_bf16, const TensorView& x_bf16) -> std::string {
    Graph g;
    g.set_precision(Precision::BF16);
    try {
      ops::linear(g, Graph::constant(x), Graph::constant(w), w_bf16, x_bf16);
    } catch (const ShapeError& e) {
      return e.what();
    }
    return "no error";
  };
  const TensorView wrong_w(bits.data(), Shape{4, 3}, DType::BF16);
  const TensorView wrong_x(bits.data(), Shape{4, 2}, DType::BF16);
  EXPECT_EQ(error(wrong_w, {}), "[linear] w (3,4) vs w_bf16 (4,3) bf16");
  EXPECT_EQ(error({}, wrong_x), "[linear] x (2,4) vs x_bf16 (4,2) bf16");
}

}  // namespace
}  // namespace blt::test
