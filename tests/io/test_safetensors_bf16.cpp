// Safetensors and bf16 tensors: a BF16 tensor writes as "BF16" and reads back bit for bit (as BF16)
// or widened exactly (as F32); F32, F64 and F16 files read into BF16 round to nearest even through
// float32. The suite name starts with "Safetensors" (CI's ASan+UBSan rerun matches it).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "io/safetensors.h"
#include "temp_dir.h"

namespace blt::test {
namespace {

using io::SafetensorsFile;

TEST(SafetensorsBf16, Bf16TensorRoundTripsBitExact) {
  TempDir dir;
  const std::string path = dir.file("b.safetensors");
  const uint16_t patterns[] = {0x3fc0, 0x8000, 0x7f80, 0xff80, 0x7fc1, 0x0001, 0x807f, 0x4049};
  Tensor t = Tensor::empty(Shape{2, 4}, DType::BF16);
  for (int i = 0; i < 8; ++i) t.data<bf16>()[i].bits = patterns[i];
  io::write_safetensors(path, {{"w", t}});
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.info("w").dtype, "BF16");
  const Tensor same = f.read("w", DType::BF16);
  ASSERT_EQ(same.dtype(), DType::BF16);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(same.data<bf16>()[i].bits, patterns[i]) << i;  // NaN payload too
  const Tensor wide = f.read("w");
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(std::bit_cast<uint32_t>(wide.data<float>()[i]), uint32_t{patterns[i]} << 16) << i;
}

TEST(SafetensorsBf16, WiderFilesRoundToNearestEvenIntoBf16) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  const std::vector<float> f32 = {1.00390625f, 1.01171875f, 3.0e38f, -0.f, 1e-40f, 1.f / 3.f};  // ties, huge, denormal
  Tensor a = Tensor::from(f32, Shape{6});
  Tensor b = Tensor::empty(Shape{3}, DType::F64);
  const double f64[] = {1.0 / 3.0, 1e300, -2.5e-3};
  std::copy(std::begin(f64), std::end(f64), b.data<double>());
  io::write_safetensors(path, {{"a", a}, {"b", b}});
  SafetensorsFile f = SafetensorsFile::open(path);
  const Tensor ra = f.read("a", DType::BF16);
  for (size_t i = 0; i < f32.size(); ++i) EXPECT_EQ(ra.data<bf16>()[i].bits, to_bf16(f32[i]).bits) << i;
  EXPECT_EQ(ra.view().at(0), 1.0);      // 1 + 2^-8 ties to the even 1
  EXPECT_EQ(ra.view().at(1), 1.015625);  // 1 + 3·2^-8 ties to the even 1 + 2^-6
  Tensor rb = Tensor::empty(Shape{3}, DType::BF16);
  f.read_into("b", rb.view());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rb.data<bf16>()[i].bits, to_bf16(io::f64_to_f32(f64[i])).bits) << i;
  EXPECT_EQ(rb.view().at(1), std::numeric_limits<double>::infinity());  // beyond float range, as torch
  Tensor wrong = Tensor::empty(Shape{2}, DType::BF16);
  EXPECT_THROW(f.read_into("b", wrong.view()), ShapeError);
}

TEST(SafetensorsBf16, DtypeNames) {
  EXPECT_EQ(io::safetensors_dtype(DType::F32), "F32");
  EXPECT_EQ(io::safetensors_dtype(DType::F64), "F64");
  EXPECT_EQ(io::safetensors_dtype(DType::BF16), "BF16");
}

}  // namespace
}  // namespace blt::test
