// Safetensors reader/writer: bit-exact F32/F64 round trips with metadata,
// BF16/F16 conversion (hand-built files, F16 checked exhaustively), integer
// reads, and rejection of malformed files with a FormatError naming the file
// and tensor. Every suite name starts with "Safetensors": CI reruns them under
// ASan+UBSan with `ctest -R '^(Safetensors|Pth)'`.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "core/error.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "temp_dir.h"

namespace blt::test {
namespace {

using io::SafetensorsFile;
using ojson = nlohmann::ordered_json;

// A tensor to put into a hand-built file: raw little-endian bytes as stored.
struct RawTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  return s;
}

// 8-byte length + header + data; `length` overrides the stored header length.
std::string file_bytes(const std::string& header, std::string_view data,
                       std::optional<uint64_t> length = {}) {
  const uint64_t n = length.value_or(header.size());
  std::string s(8, '\0');
  std::memcpy(s.data(), &n, 8);
  return s + header + std::string(data);
}

// A valid file holding `ts` back to back in the given order.
std::string build(const std::vector<RawTensor>& ts, const ojson& metadata = nullptr) {
  ojson h = ojson::object();
  if (!metadata.is_null()) h["__metadata__"] = metadata;
  std::string data;
  for (const RawTensor& t : ts) {
    h[t.name] = {{"dtype", t.dtype},
                 {"shape", t.shape},
                 {"data_offsets", ojson::array({data.size(), data.size() + t.bytes.size()})}};
    data += t.bytes;
  }
  return file_bytes(h.dump(), data);
}

uint32_t bits(float f) {
  return std::bit_cast<uint32_t>(f);
}
uint64_t bits(double f) {
  return std::bit_cast<uint64_t>(f);
}

// Opening `bytes` must fail with a FormatError whose message holds the path and every needle.
void expect_rejected(const std::string& bytes, const std::vector<std::string>& needles) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_raw(path, bytes);
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "expected FormatError for header: " << bytes.substr(8, 200);
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

// Runs fn, expects a FormatError containing every needle.
template <class Fn>
void expect_format_error(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected FormatError";
  } catch (const FormatError& e) {
    for (const std::string& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
  }
}

// ---------------------------------------------------------------- writer + round trips

TEST(SafetensorsWriter, RoundTripF32BitExactWithMetadata) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  const float nan_payload = std::bit_cast<float>(0x7fc00123u);
  Tensor a =
      Tensor::from(std::vector<float>{1.5f, -0.0f, INFINITY, -INFINITY, nan_payload, 1e-45f}, Shape{2, 3});
  Tensor b =
      Tensor::from(std::vector<float>{std::numeric_limits<float>::max(), -3.25f, 0.1f, 7.0f}, Shape{4});
  Tensor scalar = Tensor::from(std::vector<float>{42.0f}, Shape{});
  Tensor empty = Tensor::empty(Shape{2, 0, 3});
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"step", "12"}, {"note", "ünïcode"}};
  io::write_safetensors(path, {{"z.weight", a}, {"a.bias", b}, {"scalar", scalar}, {"empty", empty}}, meta);

  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.path(), path);
  EXPECT_EQ(f.metadata(), meta);
  // Given order is data order; "empty" (zero bytes at the end) sorts by offset too.
  EXPECT_EQ(f.names(), (std::vector<std::string>{"z.weight", "a.bias", "scalar", "empty"}));
  EXPECT_TRUE(f.contains("a.bias"));
  EXPECT_FALSE(f.contains("a"));
  EXPECT_EQ(f.info("z.weight").dtype, "F32");
  EXPECT_EQ(f.info("z.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f.shape("scalar"), Shape{});
  EXPECT_EQ(f.shape("empty"), (Shape{2, 0, 3}));
  for (const auto& [name, src] :
       std::vector<std::pair<std::string, Tensor>>{{"z.weight", a}, {"a.bias", b}, {"scalar", scalar}}) {
    Tensor r = f.read(name);
    ASSERT_EQ(r.shape(), src.shape()) << name;
    ASSERT_EQ(r.dtype(), DType::F32);
    for (int64_t i = 0; i < r.numel(); ++i)
      EXPECT_EQ(bits(r.data<float>()[i]), bits(src.data<float>()[i])) << name << i;
  }
  EXPECT_EQ(f.read("empty").numel(), 0);
  // F32 -> F64 widening is exact.
  Tensor wide = f.read("a.bias", DType::F64);
  EXPECT_EQ(wide.dtype(), DType::F64);
  EXPECT_EQ(wide.data<double>()[2], static_cast<double>(0.1f));
}

TEST(SafetensorsWriter, RoundTripF64BitExact) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  Tensor a = Tensor::empty(Shape{3, 2}, DType::F64);
  const double vals[] = {0.1, -1e300, 4.9e-324, std::numeric_limits<double>::quiet_NaN(), -0.0, 1.0 / 3.0};
  std::memcpy(a.data<double>(), vals, sizeof vals);
  io::write_safetensors(path, {{"w", a}}, {{"k", "v"}});
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.info("w").dtype, "F64");
  Tensor r = f.read("w", DType::F64);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(bits(r.data<double>()[i]), bits(vals[i])) << i;
  Tensor narrow = f.read("w");  // F64 -> F32 rounds
  EXPECT_EQ(narrow.data<float>()[0], 0.1f);
  EXPECT_EQ(narrow.data<float>()[5], static_cast<float>(1.0 / 3.0));
  EXPECT_EQ(f.metadata().at("k"), "v");
}

TEST(SafetensorsWriter, HeaderIsPaddedAlignedAndOrdered) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  for (int extra = 0; extra < 9; ++extra) {  // every padding remainder
    Tensor x = Tensor::zeros(Shape{3}), y = Tensor::zeros(Shape{1, 2}, DType::F64);
    io::write_safetensors(path, {{"second" + std::string(extra, 'x'), x}, {"first", y}}, {{"format", "pt"}});
    const std::string raw = read_raw(path);
    uint64_t n = 0;
    std::memcpy(&n, raw.data(), 8);
    EXPECT_EQ(n % 8, 0u);
    ASSERT_EQ(raw.size(), 8 + n + 3 * 4 + 2 * 8);
    const std::string header = raw.substr(8, n);
    EXPECT_EQ(header.find_last_not_of(' '), header.find_last_of('}'));  // only spaces after the JSON
    const ojson h = ojson::parse(header);
    std::vector<std::string> keys;
    for (auto it = h.begin(); it != h.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"__metadata__", "second" + std::string(extra, 'x'), "first"}));
    EXPECT_EQ(h["first"]["data_offsets"], ojson::array({12, 28}));
    EXPECT_EQ(h["first"]["dtype"], "F64");
  }
}

TEST(SafetensorsWriter, NoTensorsNoMetadata) {
  TempDir dir;
  const std::string path = dir.file("empty.safetensors");
  io::write_safetensors(path, {});
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_TRUE(f.names().empty());
  EXPECT_TRUE(f.metadata().empty());
}

TEST(SafetensorsWriter, RejectsBadNamesAndWritesNothing) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  Tensor x = Tensor::zeros(Shape{2});
  expect_format_error([&] { io::write_safetensors(path, {{"w", x}, {"w", x}}); }, {path, "'w'", "duplicate"});
  expect_format_error([&] { io::write_safetensors(path, {{"__metadata__", x}}); }, {path, "'__metadata__'"});
  expect_format_error(
      [&] {
        io::write_safetensors(path, {{"u", TensorView(nullptr, Shape{2}, DType::F32)}});
      },
      {path, "'u'"});
  EXPECT_TRUE(dir.entries().empty());
}

TEST(SafetensorsWriter, ReplacesExistingFile) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::write_safetensors(path, {{"old", Tensor::zeros(Shape{100})}});
  io::write_safetensors(path, {{"new", Tensor::from(std::vector<float>{5}, Shape{1})}});
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.names(), std::vector<std::string>{"new"});
  EXPECT_EQ(f.read("new").at(0), 5.0);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"w.safetensors"});
}

TEST(SafetensorsWriter, UnwritableDirectoryIsIoError) {
  TempDir dir;
  const std::string path = dir.file("missing/w.safetensors");
  try {
    io::write_safetensors(path, {{"x", Tensor::zeros(Shape{1})}});
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- conversions

// f16 reference in double: (-1)^s * 2^(e-15) * (1 + m/1024), subnormal 2^-14 * m/1024.
double f16_reference(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 31)
    v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else if (e == 0)
    v = std::ldexp(m, -24);
  else
    v = std::ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

TEST(SafetensorsConversion, F16ExhaustiveAgainstReference) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = io::f16_to_f32(static_cast<uint16_t>(h));
    const double want = f16_reference(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
      ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << std::hex << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << std::hex << h;
      ASSERT_EQ(std::signbit(got), std::signbit(want)) << std::hex << h;
    }
  }
}

TEST(SafetensorsConversion, Bf16IsTopHalf) {
  for (uint32_t h = 0; h < 65536; h += 7) EXPECT_EQ(bits(io::bf16_to_f32(static_cast<uint16_t>(h))), h << 16);
  EXPECT_EQ(io::bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(io::bf16_to_f32(0xc040), -3.0f);
}

TEST(SafetensorsConversion, DtypeSizes) {
  EXPECT_EQ(io::safetensors_dtype_size("BF16"), 2u);
  EXPECT_EQ(io::safetensors_dtype_size("F64"), 8u);
  EXPECT_EQ(io::safetensors_dtype_size("BOOL"), 1u);
  EXPECT_EQ(io::safetensors_dtype_size("f32"), 0u);
}

TEST(SafetensorsReader, Bf16File) {
  TempDir dir;
  const std::string path = dir.file("bf16.safetensors");
  const std::vector<uint16_t> p = {0x3f80, 0xc000, 0x3fc0, 0x7f80, 0xff80, 0x7fc1, 0x0001, 0x8000};
  write_raw(path, build({{"w", "BF16", {2, 4}, bytes_of(p)}}));
  SafetensorsFile f = SafetensorsFile::open(path);
  Tensor r = f.read("w");
  ASSERT_EQ(r.shape(), (Shape{2, 4}));
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(bits(r.data<float>()[i]), uint32_t{p[i]} << 16) << i;
  EXPECT_EQ(r.data<float>()[0], 1.0f);
  EXPECT_EQ(r.data<float>()[1], -2.0f);
  EXPECT_EQ(r.data<float>()[2], 1.5f);
  EXPECT_EQ(r.data<float>()[6], std::ldexp(1.0f, -133));  // f32 subnormal
  Tensor d = f.read("w", DType::F64);
  EXPECT_EQ(d.data<double>()[2], 1.5);
  EXPECT_TRUE(std::isinf(d.data<double>()[3]));
  EXPECT_TRUE(std::isnan(d.data<double>()[5]));
}

TEST(SafetensorsReader, F64ToF32RoundsAndOverflowsToInf) {
  TempDir dir;
  const std::string path = dir.file("f64.safetensors");
  const double flt_max = std::numeric_limits<float>::max();
  const std::vector<double> v = {0.1,
                                 -2.5,
                                 1e300,
                                 -1e300,
                                 flt_max,
                                 flt_max + 0x1p102,
                                 flt_max + 0x1p103,
                                 1e-50,
                                 std::numeric_limits<double>::quiet_NaN()};
  write_raw(path, build({{"w", "F64", {static_cast<int64_t>(v.size())}, bytes_of(v)}}));
  SafetensorsFile f = SafetensorsFile::open(path);
  Tensor r = f.read("w");
  const float* x = r.data<float>();
  EXPECT_EQ(x[0], 0.1f);  // finite, in range: round to nearest
  EXPECT_EQ(x[1], -2.5f);
  EXPECT_EQ(x[2], std::numeric_limits<float>::infinity());  // beyond float range: +-inf, as torch
  EXPECT_EQ(x[3], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(x[4], std::numeric_limits<float>::max());
  EXPECT_EQ(x[5], std::numeric_limits<float>::max());       // below half an ulp past FLT_MAX: rounds down
  EXPECT_EQ(x[6], std::numeric_limits<float>::infinity());  // the tie rounds to even: inf
  EXPECT_EQ(x[7], 0.0f);
  EXPECT_TRUE(std::isnan(x[8]));
  Tensor d = f.read("w", DType::F64);  // F64 -> F64 is exact
  for (size_t i = 0; i + 1 < v.size(); ++i) EXPECT_EQ(bits(d.data<double>()[i]), bits(v[i])) << i;
}

TEST(SafetensorsConversion, F64ToF32IsDefinedEverywhere) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(io::f64_to_f32(1e300), inf);
  EXPECT_EQ(io::f64_to_f32(-1e300), -inf);
  EXPECT_EQ(io::f64_to_f32(std::numeric_limits<double>::max()), inf);
  EXPECT_EQ(io::f64_to_f32(std::numeric_limits<double>::infinity()), inf);
  EXPECT_EQ(io::f64_to_f32(-std::numeric_limits<double>::infinity()), -inf);
  EXPECT_EQ(io::f64_to_f32(-(static_cast<double>(std::numeric_limits<float>::max()) + 0x1p102)),
            -std::numeric_limits<float>::max());
  EXPECT_EQ(io::f64_to_f32(3.0), 3.0f);
  EXPECT_EQ(io::f64_to_f32(1.0 + 0x1p-24), 1.0f);  // tie to even
  EXPECT_EQ(io::f64_to_f32(0x1p-149), std::numeric_limits<float>::denorm_min());
  EXPECT_TRUE(std::isnan(io::f64_to_f32(std::numeric_limits<double>::quiet_NaN())));
}

TEST(SafetensorsReader, F16File) {
  TempDir dir;
  const std::string path = dir.file("f16.safetensors");
  const std::vector<uint16_t> p = {0x3c00, 0xc000, 0x3555, 0x7bff, 0x0400, 0x0001, 0x03ff, 0x8001,
                                   0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00, 0x4248};
  write_raw(path,
            build({{"pad", "U8", {3}, "abc"}, {"h", "F16", {16}, bytes_of(p)}}));  // odd offset on purpose
  Tensor r = SafetensorsFile::open(path).read("h");
  const float* v = r.data<float>();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 0.333251953125f);
  EXPECT_EQ(v[3], 65504.0f);
  EXPECT_EQ(v[4], std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(v[5], std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(v[6], std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(v[7], -std::ldexp(1.0f, -24));
  EXPECT_EQ(bits(v[8]), 0u);
  EXPECT_EQ(bits(v[9]), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(v[10], INFINITY);
  EXPECT_EQ(v[11], -INFINITY);
  EXPECT_TRUE(std::isnan(v[12]));
  EXPECT_TRUE(std::isnan(v[13]));  // signalling pattern stays NaN, not inf
  EXPECT_TRUE(std::isnan(v[14]) && std::signbit(v[14]));
  EXPECT_EQ(v[15], 3.140625f);
}

TEST(SafetensorsReader, IntegerDtypes) {
  TempDir dir;
  const std::string path = dir.file("ints.safetensors");
  write_raw(path, build({{"i64", "I64", {2}, bytes_of(std::vector<int64_t>{-5, int64_t{1} << 40})},
                         {"i32", "I32", {1, 2}, bytes_of(std::vector<int32_t>{-1, 7})},
                         {"i16", "I16", {1}, bytes_of(std::vector<int16_t>{-300})},
                         {"i8", "I8", {2}, bytes_of(std::vector<int8_t>{-128, 127})},
                         {"u8", "U8", {1}, bytes_of(std::vector<uint8_t>{255})},
                         {"bool", "BOOL", {3}, bytes_of(std::vector<uint8_t>{0, 1, 2})},
                         {"u16", "U16", {1}, bytes_of(std::vector<uint16_t>{65535})},
                         {"u32", "U32", {1}, bytes_of(std::vector<uint32_t>{4000000000u})},
                         {"u64", "U64", {1}, bytes_of(std::vector<uint64_t>{(uint64_t{1} << 63) - 1})},
                         {"u64big", "U64", {1}, bytes_of(std::vector<uint64_t>{uint64_t{1} << 63})},
                         {"r6", "I64", {1, 1, 1, 1, 1, 2}, bytes_of(std::vector<int64_t>{3, 4})},
                         {"f", "F32", {1}, bytes_of(std::vector<float>{1.0f})}}));
  SafetensorsFile f = SafetensorsFile::open(path);
  using V = std::vector<int64_t>;
  EXPECT_EQ(f.read_ints("i64"), (V{-5, int64_t{1} << 40}));
  EXPECT_EQ(f.read_ints("i32"), (V{-1, 7}));
  EXPECT_EQ(f.read_ints("i16"), (V{-300}));
  EXPECT_EQ(f.read_ints("i8"), (V{-128, 127}));
  EXPECT_EQ(f.read_ints("u8"), (V{255}));
  EXPECT_EQ(f.read_ints("bool"), (V{0, 1, 1}));
  EXPECT_EQ(f.read_ints("u16"), (V{65535}));
  EXPECT_EQ(f.read_ints("u32"), (V{4000000000}));
  EXPECT_EQ(f.read_ints("u64"), (V{std::numeric_limits<int64_t>::max()}));
  EXPECT_EQ(f.read_ints("r6"), (V{3, 4}));  // any rank for integers
  expect_format_error([&] { f.read_ints("u64big"); }, {path, "'u64big'", "int64"});
  expect_format_error([&] { f.read_ints("f"); }, {path, "'f'", "F32"});
  expect_format_error([&] { f.read("i64"); }, {path, "'i64'", "I64"});
  expect_format_error([&] { f.shape("r6"); }, {path, "'r6'", "rank 6"});
}

TEST(SafetensorsReader, NamesFollowDataOffsets) {
  TempDir dir;
  const std::string path = dir.file("order.safetensors");
  const std::string four(4, '\0');
  write_raw(path,
            build({{"zeta", "F32", {1}, four}, {"alpha", "F32", {1}, four}, {"mid", "I32", {1}, four}}));
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(f.info("alpha").begin, 4u);
  EXPECT_EQ(f.info("alpha").end, 8u);
  EXPECT_EQ(f.bytes("mid").size(), 4u);
}

TEST(SafetensorsReader, ZeroSizedTensorsMayShareOffsets) {
  TempDir dir;
  const std::string path = dir.file("zero.safetensors");
  const std::string h =
      R"({"e1":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"e2":{"dtype":"BF16","shape":[2,0],"data_offsets":[4,4]},)"
      R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  write_raw(path, file_bytes(h, std::string(8, '\0')));
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.read("e1").numel(), 0);
  EXPECT_EQ(f.read("e2").shape(), (Shape{2, 0}));
  EXPECT_EQ(f.read("x").numel(), 2);
}

TEST(SafetensorsReader, MissingTensorNamesFileAndTensor) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::write_safetensors(path, {{"present", Tensor::zeros(Shape{1})}});
  SafetensorsFile f = SafetensorsFile::open(path);
  expect_format_error([&] { f.info("absent.weight"); }, {path, "'absent.weight'"});
  expect_format_error([&] { f.read("absent.weight"); }, {path, "'absent.weight'"});
  expect_format_error([&] { f.read_ints("absent.weight"); }, {path, "'absent.weight'"});
}

TEST(SafetensorsReader, ReadIntoChecksShapeAndConverts) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::write_safetensors(path, {{"w", Tensor::from(std::vector<float>{1, 2, 3, 4, 5, 6}, Shape{2, 3})}});
  SafetensorsFile f = SafetensorsFile::open(path);
  Tensor wrong = Tensor::zeros(Shape{3, 2});
  try {
    f.read_into("w", wrong);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    for (const std::string& n : {path, std::string("'w'"), std::string("(2,3)"), std::string("(3,2)")})
      EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
  EXPECT_THROW(f.read_into("w", Tensor::zeros(Shape{6})), ShapeError);  // same numel is not enough
  Tensor d = Tensor::zeros(Shape{2, 3}, DType::F64);
  f.read_into("w", d);
  EXPECT_EQ(d.data<double>()[5], 6.0);
}

TEST(SafetensorsReader, OutlivesCopiesAndMoves) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::write_safetensors(path, {{"w", Tensor::from(std::vector<float>{9}, Shape{1})}});
  std::optional<SafetensorsFile> copy;
  {
    SafetensorsFile f = SafetensorsFile::open(path);
    copy = f;
  }
  EXPECT_EQ(copy->read("w").at(0), 9.0);
}

TEST(SafetensorsReader, MissingFileIsIoError) {
  TempDir dir;
  const std::string path = dir.file("nope.safetensors");
  try {
    SafetensorsFile::open(path);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- validation at open()

const char* kEntry = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsValidation, AcceptsTheBaseCase) {
  TempDir dir;
  write_raw(dir.file("ok"), file_bytes(kEntry, std::string(8, '\0')));
  EXPECT_NO_THROW(SafetensorsFile::open(dir.file("ok")));
}

TEST(SafetensorsValidation, ShorterThanLengthField) {
  expect_rejected("", {"shorter"});
  expect_rejected(std::string(7, '\0'), {"shorter"});
}

TEST(SafetensorsValidation, HeaderLengthBeyondFile) {
  const std::string h = kEntry;
  expect_rejected(file_bytes(h, std::string(8, '\0'), h.size() + 9), {"header length", "exceeds the file"});
}

TEST(SafetensorsValidation, AbsurdHeaderLength) {
  for (uint64_t n : {uint64_t{1} << 63, ~uint64_t{0}, uint64_t{100'000'001}})
    expect_rejected(file_bytes(kEntry, std::string(8, '\0'), n), {std::to_string(n), "limit"});
}

TEST(SafetensorsValidation, TruncatedHeader) {
  const std::string full = file_bytes(kEntry, std::string(8, '\0'));
  expect_rejected(full.substr(0, 8 + 20), {"header length"});
}

TEST(SafetensorsValidation, TruncatedData) {
  const std::string full = file_bytes(kEntry, std::string(8, '\0'));
  expect_rejected(full.substr(0, full.size() - 1), {"'w'", "beyond the data section"});
}

TEST(SafetensorsValidation, InvalidJson) {
  expect_rejected(file_bytes(R"({"w": {"dtype": "F32",)", ""), {"not valid JSON"});
  expect_rejected(file_bytes("\xff\xfe{}", ""), {"not valid JSON"});
  expect_rejected(file_bytes("", ""), {"not valid JSON"});
}

TEST(SafetensorsValidation, HeaderNotAnObject) {
  expect_rejected(file_bytes("[1,2]", ""), {"object", "array"});
  expect_rejected(file_bytes("42", ""), {"object"});
}

TEST(SafetensorsValidation, EntryNotAnObject) {
  expect_rejected(file_bytes(R"({"w": [1,2]})", ""), {"'w'", "object"});
}

TEST(SafetensorsValidation, MissingFields) {
  expect_rejected(file_bytes(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  {"'w'", "'dtype'"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", std::string(8, '\0')),
                  {"'w'", "'shape'"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2]}})", std::string(8, '\0')),
                  {"'w'", "'data_offsets'"});
}

TEST(SafetensorsValidation, WrongFieldTypes) {
  const std::string d(8, '\0');
  expect_rejected(file_bytes(R"({"w":{"dtype":5,"shape":[2],"data_offsets":[0,8]}})", d), {"'w'", "dtype"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", d),
                  {"'w'", "shape"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d),
                  {"'w'", "integer"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[null],"data_offsets":[0,8]}})", d),
                  {"'w'", "integer"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", d),
                  {"'w'", "data_offsets"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", d),
                  {"'w'", "data_offsets"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0,8"}})", d),
                  {"'w'", "data_offsets"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", d),
                  {"'w'", "integer"});
  expect_rejected(file_bytes(R"({"__metadata__":["x"]})", ""), {"__metadata__"});
  expect_rejected(file_bytes(R"({"__metadata__":{"step":12}})", ""), {"__metadata__", "'step'", "string"});
}

TEST(SafetensorsValidation, NegativeValues) {
  const std::string d(8, '\0');
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[-1,-2],"data_offsets":[0,8]}})", d),
                  {"'w'", "negative"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", d),
                  {"'w'", "negative"});
}

TEST(SafetensorsValidation, UnknownDtype) {
  expect_rejected(
      file_bytes(R"({"w":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
      {"'w'", "unknown dtype 'F12'"});
}

TEST(SafetensorsValidation, OffsetsDisagreeWithShapeTimesDtype) {
  const std::string d(16, '\0');
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", d),
                  {"'w'", "needs 8"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", d),
                  {"'w'", "needs 16"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"BF16","shape":[],"data_offsets":[0,4]}})", d),
                  {"'w'", "needs 2"});
}

TEST(SafetensorsValidation, ShapeOverflow) {
  const std::string d(8, '\0');
  // 2^62 * 4 wraps to 0 in 64 bits; 2^32 * 2^32 wraps numel itself.
  expect_rejected(
      file_bytes(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", d),
      {"'w'", "too large"});
  expect_rejected(
      file_bytes(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", d),
      {"'w'", "too large"});
  expect_rejected(
      file_bytes(R"({"w":{"dtype":"U8","shape":[0,9223372036854775808],"data_offsets":[0,0]}})", d),
      {"'w'", "too large"});
  expect_rejected(
      file_bytes(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}})", d), {"'w'"});
}

TEST(SafetensorsValidation, ShapeOverflowIsNotExcusedByAZeroDimension) {
  const std::string d(8, '\0');
  // 2^62 * 2^62 overflows before the zero is reached: Shape::numel and strides would wrap.
  for (const char* shape :
       {"[4611686018427387904,4611686018427387904,0]", "[0,4611686018427387904,4611686018427387904]",
        "[4294967296,0,4294967296]", "[3037000500,3037000500,0,1]"})
    expect_rejected(
        file_bytes(std::string(R"({"w":{"dtype":"U8","shape":)") + shape + R"(,"data_offsets":[0,0]}})", d),
        {"'w'", "too large"});
  // A zero dimension beside dimensions whose product fits is an ordinary empty tensor.
  TempDir dir;
  const std::string path = dir.file("empty.safetensors");
  write_raw(path,
            file_bytes(R"({"w":{"dtype":"F64","shape":[1152921504606846976,0],"data_offsets":[0,0]}})", d));
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.shape("w").numel(), 0);
  EXPECT_EQ(f.read("w").numel(), 0);
}

TEST(SafetensorsValidation, BeginAfterEnd) {
  expect_rejected(
      file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, '\0')),
      {"'w'", "end before begin"});
}

TEST(SafetensorsValidation, RangeOutsideFile) {
  expect_rejected(
      file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(4, '\0')),
      {"'w'", "beyond the data section"});
  expect_rejected(
      file_bytes(
          R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,18446744073709551616]}})",
          ""),
      {"'w'"});
}

TEST(SafetensorsValidation, OverlappingRanges) {
  expect_rejected(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             std::string(12, '\0')),
                  {"'b'", "overlap", "'a'"});
  // b sits inside a; c starts after b ends but still inside a.
  expect_rejected(file_bytes(R"({"a":{"dtype":"U8","shape":[10],"data_offsets":[0,10]},)"
                             R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                             R"("c":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                             std::string(10, '\0')),
                  {"overlap", "'a'"});
  expect_rejected(file_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                             std::string(4, '\0')),
                  {"overlap"});
}

TEST(SafetensorsValidation, DuplicateKeys) {
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                             std::string(8, '\0')),
                  {"'w'", "duplicate"});
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})",
                             std::string(4, '\0')),
                  {"duplicate key 'dtype'"});
}

// A tight file cut anywhere must be rejected, never read out of bounds.
TEST(SafetensorsValidation, EveryTruncationIsRejected) {
  TempDir dir;
  const std::string full_path = dir.file("full.safetensors");
  io::write_safetensors(full_path,
                        {{"a", Tensor::from(std::vector<float>{1, 2, 3}, Shape{3})},
                         {"b", Tensor::from(std::vector<float>{4, 5}, Shape{1, 2})}},
                        {{"format", "pt"}});
  const std::string full = read_raw(full_path);
  const std::string path = dir.file("cut.safetensors");
  for (size_t len = 0; len < full.size(); ++len) {
    write_raw(path, full.substr(0, len));
    EXPECT_THROW(SafetensorsFile::open(path), FormatError) << "cut at " << len;
  }
}

// Random byte corruption: open() and every read either work or throw FormatError.
TEST(SafetensorsValidation, RandomCorruptionNeverCrashes) {
  TempDir dir;
  const std::string src = dir.file("src.safetensors");
  io::write_safetensors(src,
                        {{"a", Tensor::from(std::vector<float>{1, 2, 3, 4}, Shape{2, 2})},
                         {"bb", Tensor::from(std::vector<float>{5}, Shape{1})}},
                        {{"k", "v"}});
  const std::string full = read_raw(src);
  const std::string path = dir.file("mut.safetensors");
  std::mt19937 rng(1234);
  const char interesting[] = {'"', '{', '}', '[', ']', ',', ':', '-', '0', '9', ' ', '\0', '\xff', 'F', 'I'};
  int opened = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string bytes = full;
    const int n_mut = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < n_mut; ++m) {
      const size_t pos = rng() % bytes.size();
      bytes[pos] = (rng() % 2) ? interesting[rng() % sizeof interesting] : static_cast<char>(rng());
    }
    write_raw(path, bytes);
    try {
      SafetensorsFile f = SafetensorsFile::open(path);
      ++opened;
      for (const std::string& name : f.names()) {
        try {
          const std::string& d = f.info(name).dtype;
          if (d == "F32" || d == "F64" || d == "BF16" || d == "F16")
            (void)f.read(name);
          else
            (void)f.read_ints(name);
        } catch (const FormatError&) {
        }
      }
    } catch (const FormatError&) {
    }
  }
  EXPECT_GT(opened, 0);  // some mutations (in the data section) leave a valid file
}

// ---------------------------------------------------------------- the oracle fixtures

TEST(SafetensorsOracle, ReadsEveryFixtureFile) {
  const std::filesystem::path root = fixture("oracle");
  BLT_REQUIRE_FIXTURE(root);
  int n_files = 0;
  for (const auto& dir : std::filesystem::directory_iterator(root)) {
    if (!dir.is_directory()) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      if (entry.path().extension() != ".safetensors") continue;
      SCOPED_TRACE(entry.path().string());
      SafetensorsFile f = SafetensorsFile::open(entry.path().string());
      ++n_files;
      EXPECT_FALSE(f.names().empty());
      for (const std::string& name : f.names()) {
        const io::SafetensorsInfo& info = f.info(name);
        int64_t numel = 1;
        for (int64_t d : info.shape) numel *= d;
        if (info.dtype == "I64") {
          EXPECT_EQ(static_cast<int64_t>(f.read_ints(name).size()), numel) << name;
        } else {
          ASSERT_TRUE(info.dtype == "F32" || info.dtype == "BF16" || info.dtype == "F16")
              << name << " " << info.dtype;
          Tensor t = f.read(name);
          EXPECT_EQ(t.numel(), numel) << name;
          for (int64_t i = 0; i < t.numel(); ++i)
            ASSERT_TRUE(std::isfinite(t.data<float>()[i])) << name << "[" << i << "]";
        }
      }
    }
  }
  EXPECT_GT(n_files, 0);
}

}  // namespace
}  // namespace blt::test
