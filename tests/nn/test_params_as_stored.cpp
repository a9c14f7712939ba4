// Weights used as stored (ParamRegistry::allocate_as_stored, nn::map_params): a BF16 matrix is a view into
// the file's mapping (its very bytes, kept alive by the registry), a 1-D parameter is float32 in the
// registry's arena, a matrix stored misaligned or in another dtype is copied into an aligned bf16 arena;
// training registries, initialize(), the mirror and the loaders are refused.
#include <gtest/gtest.h>

#include <cstring>

#include "blas/gemm_bf16.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "nn/param_io.h"

namespace blt::test {
namespace {

// w (3,5) and e (7,4) matrices, n (6) a norm weight.
struct Declared {
  nn::ParamRegistry reg{DType::F32, /*trainable=*/false};
  nn::ParamId w = reg.declare("w.weight", Shape{3, 5}, nn::Init::zeros());
  nn::ParamId e = reg.declare("e.weight", Shape{7, 4}, nn::Init::zeros());
  nn::ParamId n = reg.declare("n.weight", Shape{6}, nn::Init::zeros());
};

// Seeded values of `shape` rounded to bf16, as a BF16 tensor.
Tensor bf16_values(Shape shape, float base) {
  Tensor t = Tensor::empty(shape, DType::BF16);
  for (int64_t i = 0; i < shape.numel(); ++i)
    t.data<bf16>()[i] = to_bf16(base + 0.37f * static_cast<float>(i));
  return t;
}

bool inside(const void* p, std::span<const std::byte> bytes) {
  const auto* b = static_cast<const std::byte*>(p);
  return b >= bytes.data() && b < bytes.data() + bytes.size();
}

void expect_values(const TensorView& v, const Tensor& stored) {
  ASSERT_EQ(v.numel(), stored.numel());
  for (int64_t i = 0; i < v.numel(); ++i) EXPECT_EQ(v.at(i), stored.at(i)) << i;
}

TEST(ParamsAsStored, Bf16MatricesAreViewsIntoTheMappingAndNormsFloat32) {
  TempDir tmp;
  const std::string path = (tmp.path() / "m.safetensors").string();
  const Tensor w = bf16_values(Shape{3, 5}, 1), e = bf16_values(Shape{7, 4}, -2),
               n = bf16_values(Shape{6}, 0.5);
  io::write_safetensors(path, {{"w.weight", w.view()}, {"e.weight", e.view()}, {"n.weight", n.view()}});
  Declared d;
  {
    const auto file = io::SafetensorsFile::open(path);
    nn::map_params(d.reg, file);
    EXPECT_TRUE(inside(d.reg.value(d.w).raw(), file.bytes("w.weight")));
    EXPECT_EQ(d.reg.value(d.w).raw(), file.bytes("w.weight").data()) << "the stored bytes themselves";
    EXPECT_EQ(d.reg.value(d.e).raw(), file.bytes("e.weight").data());
    EXPECT_FALSE(inside(d.reg.value(d.n).raw(), file.bytes("n.weight")));
  }  // the file object is gone: the registry keeps the mapping
  EXPECT_TRUE(d.reg.as_stored());
  // bf16 products where the CPU has a bf16 matrix engine, else float32 ones over the same stored values
  EXPECT_EQ(d.reg.precision(), blas::has_bf16_matmul() ? Precision::BF16 : Precision::F32);
  EXPECT_EQ(d.reg.value(d.w).dtype(), DType::BF16);
  EXPECT_EQ(d.reg.value(d.e).shape(), (Shape{7, 4}));
  EXPECT_EQ(d.reg.value(d.n).dtype(), DType::F32);
  EXPECT_EQ(d.reg.values().numel(), 6) << "the float32 arena holds the norm weight only";
  expect_values(d.reg.value(d.w), w);
  expect_values(d.reg.value(d.e), e);
  expect_values(d.reg.value(d.n), n);
  EXPECT_FALSE(d.reg.grad(d.w).defined());
}

// A 1-byte tensor first puts the next one at an odd offset: it cannot be viewed as bf16 and is copied
// (aligned); a float32 matrix is converted to bf16 (rounded to nearest even). "pad" lies outside the
// prefix, so it is no unexpected parameter.
TEST(ParamsAsStored, MisalignedOrNonBf16MatricesAreCopiedAligned) {
  TempDir tmp;
  const std::string path = (tmp.path() / "m.safetensors").string();
  const Tensor w = bf16_values(Shape{3, 5}, 1), n = bf16_values(Shape{6}, 0.5);
  Tensor e = Tensor::empty(Shape{7, 4});
  for (int64_t i = 0; i < 28; ++i) e.data<float>()[i] = 1.0f + 1e-3f * static_cast<float>(i);  // not bf16
  const std::byte pad[1] = {};
  const auto span_of = [](const Tensor& t) {
    return std::span<const std::byte>(static_cast<const std::byte*>(t.view().raw()), t.view().nbytes());
  };
  io::write_safetensors_raw(path, {{"pad", "U8", {1}, {pad}},
                                   {"m.w.weight", "BF16", {3, 5}, {span_of(w)}},
                                   {"m.e.weight", "F32", {7, 4}, {span_of(e)}},
                                   {"m.n.weight", "BF16", {6}, {span_of(n)}}});
  const auto file = io::SafetensorsFile::open(path);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(file.bytes("m.w.weight").data()) % 2, 1u) << "the test needs it odd";
  Declared d;
  nn::map_params(d.reg, file, "m.");
  for (nn::ParamId id : {d.w, d.e}) {
    const TensorView v = d.reg.value(id);
    EXPECT_EQ(v.dtype(), DType::BF16);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.raw()) % kAlign, 0u) << "a copy in the aligned bf16 arena";
    EXPECT_FALSE(inside(v.raw(), file.bytes(id == d.w ? "m.w.weight" : "m.e.weight")));
  }
  expect_values(d.reg.value(d.w), w);
  for (int64_t i = 0; i < 28; ++i) EXPECT_EQ(d.reg.value(d.e).at(i), round_bf16(e.data<float>()[i])) << i;
  expect_values(d.reg.value(d.n), n);
}

TEST(ParamsAsStored, TrainingInitialiseMirrorAndLoadersAreRefused) {
  TempDir tmp;
  const std::string path = (tmp.path() / "m.safetensors").string();
  const Tensor w = bf16_values(Shape{3, 5}, 1), e = bf16_values(Shape{7, 4}, -2),
               n = bf16_values(Shape{6}, 0.5);
  io::write_safetensors(path, {{"w.weight", w.view()}, {"e.weight", e.view()}, {"n.weight", n.view()}});
  const auto file = io::SafetensorsFile::open(path);
  nn::ParamRegistry train;
  train.declare("w.weight", Shape{3, 5}, nn::Init::zeros());
  train.declare("e.weight", Shape{7, 4}, nn::Init::zeros());
  train.declare("n.weight", Shape{6}, nn::Init::zeros());
  EXPECT_THROW(nn::map_params(train, file), ConfigError);
  Declared d;
  nn::map_params(d.reg, file);
  Rng rng(1);
  EXPECT_THROW(d.reg.initialize(rng), ConfigError);
  EXPECT_THROW(d.reg.enable_bf16_mirror(), ConfigError);
  EXPECT_THROW(nn::load_params(d.reg, file), InternalError) << "would write into the read-only mapping";
  EXPECT_THROW(nn::map_params(d.reg, file), InternalError) << "allocated twice";
}

}  // namespace
}  // namespace blt::test
