// ParamRegistry's bf16 weight mirror: refresh converts every value exactly as
// to_bf16 does, bf16_value views each parameter's slice of it with its shape,
// it follows the values only when refreshed, and nn::Linear's products read it.
#include <gtest/gtest.h>

#include "blas/gemm_bf16.h"
#include "nn/linear.h"
#include "nn/params.h"

namespace blt::test {
namespace {

// Two parameters of awkward sizes (the second starts after alignment padding), seeded values.
struct TwoParams {
  nn::ParamRegistry reg;
  nn::ParamId a, b;
  TwoParams() {
    a = reg.declare("a.weight", Shape{3, 5}, nn::Init::trunc_normal(0.7));
    b = reg.declare("b.weight", Shape{7}, nn::Init::trunc_normal(1.3));
    reg.allocate();
    Rng rng(4);
    reg.initialize(rng);
  }
};

// Every element of p's bf16 copy holds the bits of to_bf16(its float32 value).
void expect_mirrors(const nn::ParamRegistry& reg, nn::ParamId p) {
  const TensorView v = reg.value(p), m = reg.bf16_value(p);
  ASSERT_TRUE(m.defined());
  EXPECT_EQ(m.shape(), v.shape());
  EXPECT_EQ(m.dtype(), DType::BF16);
  const auto* bits = static_cast<const bf16*>(m.raw());
  for (int64_t i = 0; i < v.numel(); ++i)
    EXPECT_EQ(bits[i].bits, to_bf16(v.data<float>()[i]).bits) << reg.params()[static_cast<size_t>(p)].name << "[" << i << "]";
}

TEST(ParamMirror, AbsentUntilEnabled) {
  TwoParams t;
  EXPECT_FALSE(t.reg.has_bf16_mirror());
  EXPECT_FALSE(t.reg.bf16_value(t.a).defined());
  EXPECT_EQ(t.reg.precision(), Precision::F32);
  t.reg.refresh_bf16_mirror();  // nothing to refresh
  EXPECT_FALSE(t.reg.has_bf16_mirror());
}

TEST(ParamMirror, EnableConvertsEveryValueIntoItsSlice) {
  TwoParams t;
  t.reg.enable_bf16_mirror();
  EXPECT_EQ(t.reg.precision(), Precision::BF16);
  expect_mirrors(t.reg, t.a);
  expect_mirrors(t.reg, t.b);
}

TEST(ParamMirror, FollowsTheValuesWhenRefreshed) {
  TwoParams t;
  t.reg.enable_bf16_mirror();
  const void* before = t.reg.bf16_value(t.b).raw();
  float* b = t.reg.value(t.b).data<float>();
  for (int64_t i = 0; i < 7; ++i) b[i] = 1.0f + static_cast<float>(i) / 3;  // not exact in bf16
  EXPECT_NE(static_cast<const bf16*>(t.reg.bf16_value(t.b).raw())[1].bits, to_bf16(b[1]).bits) << "stale until refreshed";
  t.reg.refresh_bf16_mirror();
  expect_mirrors(t.reg, t.a);
  expect_mirrors(t.reg, t.b);
  t.reg.enable_bf16_mirror();  // again: the same buffer
  EXPECT_EQ(t.reg.bf16_value(t.b).raw(), before);
}

TEST(ParamMirror, Float64RegistriesHaveNone) {
  nn::ParamRegistry reg(DType::F64);
  reg.declare("w", Shape{2}, nn::Init::ones());
  reg.allocate();
  EXPECT_THROW(reg.enable_bf16_mirror(), ConfigError);
}

// nn::Linear on a BF16 graph multiplies by the mirror: a stale mirror (values changed, no refresh) gives the
// old weights' product, a refreshed one the new.
TEST(ParamMirror, LinearReadsTheMirror) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  nn::ParamRegistry reg;
  nn::Linear lin(reg, "proj", 4, 2, nn::Init::ones());
  reg.allocate();
  Rng rng(1);
  reg.initialize(rng);
  reg.enable_bf16_mirror();
  Tensor x = Tensor::from(std::vector<float>{1, 2, 3, 4}, Shape{1, 4});
  Graph g;
  g.set_recording(false);
  g.set_precision(reg.precision());
  EXPECT_EQ(lin(g, Graph::constant(x)).value.at(0), 10.0);
  reg.values().data<float>()[0] = 5;  // proj.weight[0][0]
  EXPECT_EQ(lin(g, Graph::constant(x)).value.at(0), 10.0) << "the stale mirror";
  reg.refresh_bf16_mirror();
  EXPECT_EQ(lin(g, Graph::constant(x)).value.at(0), 14.0);
}

}  // namespace
}  // namespace blt::test
