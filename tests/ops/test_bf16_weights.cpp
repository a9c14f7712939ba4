// Weights used as stored (bf16 values, nn::ParamRegistry::allocate_as_stored) in the ops that read them:
// linear takes a bf16 w as its bf16 operand in a bf16 graph (bit-identical to the float32 weight with its
// bf16 mirror) and multiplies its values in float32 in a float32 graph, embedding_sum reads bf16 tables into
// a float32 output (bit-identical to float32 tables holding the same values: the same additions in the same
// order), and the refusals name the op, the tensor and the fix.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "blas/gemm_bf16.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/rmsnorm.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

// A seeded float32 tensor rounded to bf16: `bits` its bf16 values, `rounded` the same values in float32.
struct Bf16Values {
  Tensor rounded;
  std::vector<bf16> bits;
  Bf16Values(Shape s, uint64_t seed) : rounded(random_tensor(s, seed, 1.0, DType::F32)) {
    bits.resize(static_cast<size_t>(s.numel()));
    blas::to_bf16(rounded.data<float>(), bits.data(), s.numel());
    blas::to_float(bits.data(), rounded.data<float>(), s.numel());
  }
  Var var() { return Graph::constant(TensorView(bits.data(), rounded.shape(), DType::BF16)); }
};

bool same_bits(const TensorView& a, const TensorView& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

// Byte table (V=260) plus two hash tables, awkward D, ids spread over the tables.
TEST(Bf16Weights, EmbeddingSumEqualsFloat32OnTheSameValuesExactly) {
  for (int64_t D : {1, 7, 64}) {
    std::vector<Bf16Values> tabs;
    tabs.emplace_back(Shape{260, D}, 1);
    tabs.emplace_back(Shape{509, D}, 2);
    tabs.emplace_back(Shape{61, D}, 3);
    std::vector<int32_t> ids;
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t i = 0; i < 11; ++i)
        ids.push_back(static_cast<int32_t>((i * 37 + t * 5) % tabs[t].rounded.shape()[0]));
    std::vector<Var> stored, floats;
    for (Bf16Values& v : tabs) {
      stored.push_back(v.var());
      floats.push_back(Graph::constant(v.rounded));
    }
    Graph g;
    const Var a = ops::embedding_sum(g, stored, ids, Shape{1, 11}),
              b = ops::embedding_sum(g, floats, ids, Shape{1, 11});
    EXPECT_EQ(a.dtype(), DType::F32);
    EXPECT_EQ(a.shape(), (Shape{1, 11, D}));
    EXPECT_TRUE(same_bits(a.value, b.value)) << "D " << D;
  }
}

TEST(Bf16Weights, Bf16TablesTakeNoGradient) {
  Bf16Values t(Shape{4, 3}, 4);
  Tensor grad = Tensor::zeros(Shape{4, 3}, DType::BF16);
  const std::vector<int32_t> ids = {1, 2};
  Graph g;
  const std::string msg = error_of([&] {
    ops::embedding(g, Var(TensorView(t.bits.data(), Shape{4, 3}, DType::BF16), grad.view()), ids, Shape{2});
  });
  EXPECT_EQ(
      msg,
      "[embedding] table 0 (4,3) is bf16 (weights used as stored): inference only, it takes no gradient");
}

// In a bf16 graph the bf16 weight itself is the products' operand: bit-identical to the float32 weight with
// its bf16 copy (what a bf16 file loaded to float32 with the mirror computes).
TEST(Bf16Weights, LinearReadsTheBf16WeightAsItsMirrorWouldBe) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  for (Shape xs : {Shape{1, 16}, Shape{3, 5, 40}, Shape{50, 96}}) {
    const int64_t out = 24;
    Bf16Values w(Shape{out, xs.last()}, 5);
    const Tensor x = random_tensor(xs, 6, 1.0, DType::F32);
    Graph mirror;
    mirror.set_precision(Precision::BF16);
    const Var ref = ops::linear(mirror, Graph::constant(x), Graph::constant(w.rounded),
                                TensorView(w.bits.data(), w.rounded.shape(), DType::BF16));
    Graph g;
    g.set_precision(Precision::BF16);
    const Var y = ops::linear(g, Graph::constant(x), w.var());
    EXPECT_EQ(y.dtype(), DType::F32);
    EXPECT_TRUE(same_bits(y.value, ref.value)) << xs.str();
  }
}

// In a float32 graph (any CPU; without a bf16 engine every graph over stored weights is one) the products
// are float32 products of x with the stored values: against a double reference on those values, within
// float32's rounding of a length-`in` sum (in · 2^-24 · Σ|x·w|, twice for the order of the additions). One to
// six rows take the streaming kernel on AVX2 CPUs, more rows the widened panels.
TEST(Bf16Weights, LinearInFloat32MultipliesTheStoredValues) {
  for (Shape xs : {Shape{1, 16}, Shape{2, 3, 40}, Shape{6, 1030}, Shape{7, 33}, Shape{50, 96}}) {
    const int64_t out = 27, in = xs.last(), N = xs.rows();
    Bf16Values w(Shape{out, in}, 11);
    const Tensor x = random_tensor(xs, 12, 1.0, DType::F32);
    Graph g;
    const Var y = ops::linear(g, Graph::constant(x), w.var());
    ASSERT_EQ(y.dtype(), DType::F32);
    ASSERT_EQ(y.shape(), xs.with_last(out));
    const float *xp = x.data<float>(), *wp = w.rounded.data<float>(), *yp = y.value.data<float>();
    for (int64_t i = 0; i < N; ++i)
      for (int64_t o = 0; o < out; ++o) {
        double ref = 0, mag = 0;
        for (int64_t k = 0; k < in; ++k) {
          ref += double(xp[i * in + k]) * wp[o * in + k];
          mag += std::abs(double(xp[i * in + k]) * wp[o * in + k]);
        }
        EXPECT_NEAR(yp[i * out + o], ref, 2.0 * in * std::ldexp(mag, -24))
            << xs.str() << " row " << i << " col " << o;
      }
  }
}

TEST(Bf16Weights, LinearRefusesWhatABf16WeightCannotDo) {
  Bf16Values w(Shape{3, 4}, 7);
  Tensor grad = Tensor::zeros(Shape{3, 4}, DType::BF16);
  const Tensor x64 = random_tensor(Shape{2, 4}, 8, 1.0, DType::F64),
               x = random_tensor(Shape{2, 4}, 8, 1.0, DType::F32);
  Graph g;
  EXPECT_EQ(error_of([&] { ops::linear(g, Graph::constant(x64), w.var()); }),
            "[linear] w (3,4) is bf16 (weights used as stored): x must be float32, got f64");
  EXPECT_EQ(error_of([&] {
              ops::linear(g, Graph::constant(x),
                          Var(TensorView(w.bits.data(), Shape{3, 4}, DType::BF16), grad.view()));
            }),
            "[linear] w (3,4) is bf16 (weights used as stored): inference only, it takes no gradient");
  // In a float32 graph the products are float32 and forward only: an x that wants a gradient is refused.
  Tensor dx = Tensor::zeros(Shape{2, 4});
  EXPECT_EQ(
      error_of([&] { ops::linear(g, Var(x.view(), dx.view()), w.var()); }),
      "[linear] w (3,4) is bf16 (weights used as stored): its float32 products (fp32 graph, bf16 engine: " +
          blas::bf16_isa() + ") run forward only, x takes no gradient");
}

// An op without a bf16 path names the dtype, the ops that do read bf16 and the option that avoids it.
TEST(Bf16Weights, OtherOpsRefuseABf16WeightClearly) {
  Bf16Values w(Shape{4, 1}, 9);
  const Tensor x = random_tensor(Shape{2, 4}, 10, 1.0, DType::F32);
  Graph g;
  const std::string msg = error_of([&] {
    ops::rmsnorm(g, Graph::constant(x), Graph::constant(TensorView(w.bits.data(), Shape{4}, DType::BF16)),
                 1e-5);
  });
  EXPECT_EQ(
      msg,
      "[rmsnorm] dtype f32 vs bf16: bf16 (weights used as stored) is read by linear and embedding only; "
      "rmsnorm needs float32 (run with --precision fp32)");
}

}  // namespace
}  // namespace blt::test
