// Safetensors: header validation at open() and dtype conversion on read
// (writing: safetensors_write.cpp). The host must be little-endian (as the format is): data bytes are
// copied with memcpy, never reinterpreted in place, so alignment never matters.
// Duplicate JSON keys are detected with a parser callback, because nlohmann
// itself keeps the last value silently.
#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace blt::io {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using nlohmann::json;

// The reference implementation's cap: a larger header is a corrupt length field.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

[[noreturn]] void bad_file(const std::string& path, const std::string& what) {
  throw FormatError(path + ": invalid safetensors file: " + what);
}
[[noreturn]] void bad_tensor(const std::string& path, const std::string& name, const std::string& what) {
  throw FormatError(path + ": tensor '" + name + "': " + what);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + ")";
}

// Parses the header text, rejecting duplicate keys at any depth.
json parse_header(const std::string& path, std::string_view text) {
  std::vector<std::set<std::string>> keys;  // one key set per open object
  std::string duplicate;
  size_t duplicate_depth = 0;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty() && duplicate.empty()) {
      if (!keys.back().insert(parsed.get<std::string>()).second) {
        duplicate = parsed.get<std::string>();
        duplicate_depth = keys.size();
      }
    }
    return true;
  };
  json h;
  try {
    h = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    bad_file(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) {
    if (duplicate_depth == 1) bad_tensor(path, duplicate, "duplicate tensor name in the header");
    bad_file(path, "duplicate key '" + duplicate + "' in the header");
  }
  if (!h.is_object()) bad_file(path, std::string("header must be a JSON object, got ") + h.type_name());
  return h;
}

// A non-negative JSON integer as uint64, or a FormatError saying what `field` should be.
uint64_t unsigned_field(const std::string& path, const std::string& name, const char* field, const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer())
    bad_tensor(path, name, std::string(field) + " must not be negative, got " + v.dump());
  bad_tensor(path, name, std::string(field) + " must be an integer, got " + v.type_name() + " " + v.dump());
}

// One header entry, validated on its own (ranges against each other come later).
SafetensorsInfo parse_entry(const std::string& path, const std::string& name, const json& v,
                            size_t data_size) {
  if (!v.is_object())
    bad_tensor(path, name, std::string("header entry must be an object, got ") + v.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!v.contains(field)) bad_tensor(path, name, std::string("missing field '") + field + "'");
  const json& dtype = v["dtype"];
  const json& shape = v["shape"];
  const json& offsets = v["data_offsets"];
  if (!dtype.is_string())
    bad_tensor(path, name, std::string("'dtype' must be a string, got ") + dtype.type_name());
  if (!shape.is_array())
    bad_tensor(path, name, std::string("'shape' must be an array, got ") + shape.type_name());
  if (!offsets.is_array() || offsets.size() != 2)
    bad_tensor(path, name, "'data_offsets' must be an array [begin, end], got " + offsets.dump());

  SafetensorsInfo info;
  info.dtype = dtype.get<std::string>();
  const size_t elem = safetensors_dtype_size(info.dtype);
  if (elem == 0) bad_tensor(path, name, "unknown dtype '" + info.dtype + "'");

  // The product of the non-zero dimensions must fit in int64 (and, times the
  // element size, in uint64) even when a zero dimension makes the tensor empty:
  // Shape::numel and every stride are computed from the same dimensions, so
  // [2^62, 2^62, 0] is as invalid as [2^62, 2^62].
  int64_t nonzero = 1;
  bool overflow = false, empty = false;
  for (const json& d : shape) {
    const uint64_t dim = unsigned_field(path, name, "shape dimension", d);
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      bad_tensor(path, name, "shape dimension " + d.dump() + " is too large");
    info.shape.push_back(static_cast<int64_t>(dim));
    if (dim == 0)
      empty = true;
    else
      overflow = overflow || __builtin_mul_overflow(nonzero, static_cast<int64_t>(dim), &nonzero);
  }
  uint64_t nbytes = 0;
  overflow = overflow || __builtin_mul_overflow(static_cast<uint64_t>(nonzero), uint64_t{elem}, &nbytes);
  if (overflow)
    bad_tensor(path, name,
               "shape " + shape_str(info.shape) + " is too large: its element count overflows 64 bits");
  if (empty) nbytes = 0;

  const uint64_t begin = unsigned_field(path, name, "data_offsets begin", offsets[0]);
  const uint64_t end = unsigned_field(path, name, "data_offsets end", offsets[1]);
  if (begin > end)
    bad_tensor(path, name,
               "data_offsets [" + std::to_string(begin) + "," + std::to_string(end) + "] end before begin");
  if (end > data_size)
    bad_tensor(path, name,
               "data_offsets [" + std::to_string(begin) + "," + std::to_string(end) +
                   "] beyond the data section (" + std::to_string(data_size) + " bytes; file truncated?)");
  if (end - begin != nbytes)
    bad_tensor(path, name,
               "data_offsets [" + std::to_string(begin) + "," + std::to_string(end) + "] hold " +
                   std::to_string(end - begin) + " bytes but " + info.dtype + " " + shape_str(info.shape) +
                   " needs " + std::to_string(nbytes));
  info.begin = static_cast<size_t>(begin);
  info.end = static_cast<size_t>(end);
  return info;
}

// Converts n stored floats of `dtype` to T (float, double or bf16). A stored dtype equal to T is
// copied; otherwise each value is widened to float32 or double and stored as T (a bf16 rounds to
// nearest even from that float32: F64 -> bf16 goes through f64_to_f32).
template <class T>
void convert_floats(const std::string& dtype, const std::byte* src, size_t n, T* dst) {
  if (dtype == "F32") {
    if constexpr (std::is_same_v<T, float>)
      std::memcpy(dst, src, n * sizeof(float));
    else
      for (size_t i = 0; i < n; ++i) dst[i] = from_float<T>(load<float>(src + 4 * i));
  } else if (dtype == "F64") {
    if constexpr (std::is_same_v<T, double>)
      std::memcpy(dst, src, n * sizeof(double));
    else
      for (size_t i = 0; i < n; ++i) dst[i] = from_float<T>(f64_to_f32(load<double>(src + 8 * i)));
  } else if (dtype == "BF16") {
    if constexpr (std::is_same_v<T, bf16>)
      std::memcpy(static_cast<void*>(dst), src, n * sizeof(bf16));
    else
      for (size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(bf16_to_f32(load<uint16_t>(src + 2 * i)));
  } else {
    BLT_ASSERT(dtype == "F16", dtype);
    for (size_t i = 0; i < n; ++i) dst[i] = from_float<T>(f16_to_f32(load<uint16_t>(src + 2 * i)));
  }
}

bool is_float_dtype(const std::string& d) {
  return d == "F32" || d == "F64" || d == "BF16" || d == "F16";
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"I64", 8},     {"U64", 8}, {"F64", 8}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

std::string safetensors_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::BF16: return "BF16";
  }
  throw InternalError("safetensors_dtype: not a DType");
}

// bf16 is the top half of an f32.
float bf16_to_f32(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

// f16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
float f16_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exp = (bits >> 10) & 0x1fu;
  const uint32_t man = bits & 0x3ffu;
  if (exp == 0x1f)
    return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));  // inf, NaN with its payload
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 127 - 15) << 23) | (man << 13));
  // Zero or subnormal: man * 2^-24, exact in f32.
  const float v = static_cast<float>(man) * 0x1p-24f;
  return sign ? -v : v;
}

float f64_to_f32(double v) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (!(std::fabs(v) > kMax)) return static_cast<float>(v);  // in range (exact or rounded), or NaN
  // FLT_MAX plus half its ulp (2^104): from there on round-to-nearest-even gives inf.
  constexpr double kLimit = kMax + 0x1p103;
  const float big =
      std::fabs(v) < kLimit ? std::numeric_limits<float>::max() : std::numeric_limits<float>::infinity();
  return v > 0 ? big : -big;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  f.file_ = std::make_shared<const MappedFile>(path);
  const MappedFile& m = *f.file_;
  if (m.size() < 8)
    bad_file(path, std::to_string(m.size()) + " bytes, shorter than the 8-byte header length");
  const uint64_t n = load<uint64_t>(m.data());
  if (n > kMaxHeaderBytes)
    bad_file(path, "header length " + std::to_string(n) + " exceeds the limit of " +
                       std::to_string(kMaxHeaderBytes) + " bytes");
  if (n > m.size() - 8)
    bad_file(path, "header length " + std::to_string(n) + " exceeds the file size (" +
                       std::to_string(m.size()) + " bytes; file truncated?)");
  f.data_start_ = 8 + static_cast<size_t>(n);
  const size_t data_size = m.size() - f.data_start_;
  const json h = parse_header(path, std::string_view(reinterpret_cast<const char*>(m.data() + 8), n));

  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object())
        bad_file(path, std::string("'__metadata__' must be an object, got ") + it->type_name());
      for (auto mt = it->begin(); mt != it->end(); ++mt) {
        if (!mt->is_string())
          bad_file(path,
                   "'__metadata__' value of '" + mt.key() + "' must be a string, got " + mt->type_name());
        f.metadata_[mt.key()] = mt->get<std::string>();
      }
      continue;
    }
    f.entries_[it.key()] = parse_entry(path, it.key(), *it, data_size);
  }

  // Data-offset order; then no two non-empty ranges may overlap.
  for (const auto& [name, info] : f.entries_) f.names_.push_back(name);
  std::stable_sort(f.names_.begin(), f.names_.end(), [&](const std::string& a, const std::string& b) {
    const SafetensorsInfo &x = f.entries_.at(a), &y = f.entries_.at(b);
    return std::pair(x.begin, x.end) < std::pair(y.begin, y.end);
  });
  const std::string* last = nullptr;  // the non-empty range reaching furthest so far
  for (const std::string& name : f.names_) {
    const SafetensorsInfo& e = f.entries_.at(name);
    if (e.begin == e.end) continue;
    if (last && e.begin < f.entries_.at(*last).end) {
      const SafetensorsInfo& p = f.entries_.at(*last);
      bad_tensor(path, name,
                 "data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) +
                     "] overlap tensor '" + *last + "' [" + std::to_string(p.begin) + "," +
                     std::to_string(p.end) + "]");
    }
    if (!last || e.end > f.entries_.at(*last).end) last = &name;
  }
  return f;
}

const SafetensorsInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) bad_tensor(path_, name, "not in the file");
  return it->second;
}

Shape SafetensorsFile::shape(const std::string& name) const {
  const SafetensorsInfo& e = info(name);
  if (e.shape.size() > static_cast<size_t>(Shape::kMaxRank))
    bad_tensor(path_, name,
               "shape " + shape_str(e.shape) + " has rank " + std::to_string(e.shape.size()) + " > 4");
  Shape s;
  for (int64_t d : e.shape) s = s.appended(d);
  return s;
}

const std::byte* SafetensorsFile::data_of(const SafetensorsInfo& e) const {
  return file_->data() + data_start_ + e.begin;
}

std::span<const std::byte> SafetensorsFile::bytes(const std::string& name) const {
  const SafetensorsInfo& e = info(name);
  return {data_of(e), e.end - e.begin};
}

Tensor SafetensorsFile::read(const std::string& name, DType to) const {
  Tensor t = Tensor::empty(shape(name), to);
  read_into(name, t.view());
  return t;
}

// Reads `name` into dst (F32, F64 or BF16), converting from any float dtype.
void SafetensorsFile::read_into(const std::string& name, const TensorView& dst) const {
  const SafetensorsInfo& e = info(name);
  if (!is_float_dtype(e.dtype))
    bad_tensor(path_, name, "dtype " + e.dtype + " is not a float type (F32, F64, BF16, F16)");
  const Shape s = shape(name);
  if (!(s == dst.shape()))
    throw ShapeError("[safetensors] " + path_ + ": tensor '" + name + "' has shape " + s.str() +
                     " in the file, destination has " + dst.shape().str());
  const size_t n = static_cast<size_t>(s.numel());
  if (n == 0) return;
  BLT_ASSERT(dst.defined(), "read_into '" + name + "': destination has no memory");
  convert_float_bytes(e.dtype, {data_of(e), e.end - e.begin}, dst);
}

void convert_float_bytes(const std::string& dtype, std::span<const std::byte> src, const TensorView& dst) {
  BLT_ASSERT(
      is_float_dtype(dtype) && src.size() == static_cast<size_t>(dst.numel()) * safetensors_dtype_size(dtype),
      "convert_float_bytes: " + dtype + " bytes do not fill the destination");
  const size_t n = static_cast<size_t>(dst.numel());
  if (n == 0) return;
  dispatch_storage(dst.dtype(), [&]<class T>() { convert_floats<T>(dtype, src.data(), n, dst.data<T>()); });
}

std::vector<int64_t> SafetensorsFile::read_ints(const std::string& name) const {
  const SafetensorsInfo& e = info(name);
  const std::byte* p = data_of(e);
  const size_t elem = safetensors_dtype_size(e.dtype);
  const size_t n = (e.end - e.begin) / elem;
  std::vector<int64_t> out(n);
  auto convert = [&]<class S>() {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<int64_t>(load<S>(p + i * sizeof(S)));
  };
  if (e.dtype == "I64") {
    if (n) std::memcpy(out.data(), p, n * 8);
  } else if (e.dtype == "I32") {
    convert.operator()<int32_t>();
  } else if (e.dtype == "I16") {
    convert.operator()<int16_t>();
  } else if (e.dtype == "I8") {
    convert.operator()<int8_t>();
  } else if (e.dtype == "U32") {
    convert.operator()<uint32_t>();
  } else if (e.dtype == "U16") {
    convert.operator()<uint16_t>();
  } else if (e.dtype == "U8") {
    convert.operator()<uint8_t>();
  } else if (e.dtype == "BOOL") {
    for (size_t i = 0; i < n; ++i) out[i] = load<uint8_t>(p + i) != 0;
  } else if (e.dtype == "U64") {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t v = load<uint64_t>(p + i * 8);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        bad_tensor(
            path_, name,
            "U64 value " + std::to_string(v) + " at index " + std::to_string(i) + " does not fit in int64");
      out[i] = static_cast<int64_t>(v);
    }
  } else {
    bad_tensor(path_, name,
               "dtype " + e.dtype + " is not an integer type (I64, I32, I16, I8, U64, U32, U16, U8, BOOL)");
  }
  return out;
}

}  // namespace blt::io
