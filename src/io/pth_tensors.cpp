// Storages, tensor rebuilds and dtype conversion for the .pth reader. A storage is
// resolved once per key and its size checked against its zip entry while unpickling;
// a tensor's shape, contiguity and bounds are checked only when it is read, and its
// elements are then converted from the (unaligned, little-endian) storage bytes with
// explicit IEEE rounding: F64 -> F32 overflows to +-inf instead of a UB cast.
#include "io/pth_tensors.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "io/safetensors.h"

namespace blt::io::pickle {

static_assert(std::endian::native == std::endian::little,
              "torch.save storages are little-endian; so must we be");

TorchUnpickler::TorchUnpickler(const ZipReader& zip, std::string prefix, const ZipEntry& pkl)
    : PickleMachine(zip.path(), pkl.name, zip.data(pkl)), zip_(zip), prefix_(std::move(prefix)) {}

// ('storage', storage_type, key, location, numel) -> the entry <prefix>/data/<key>.
Value* TorchUnpickler::persistent_load(Value* pid) {
  const std::vector<Value*>& a = expect(pid, Kind::Tuple, "the persistent id")->items;
  if (a.size() != 5 || a[0]->kind != Kind::String || a[0]->s != "storage" || a[1]->kind != Kind::Global ||
      a[1]->callable != Callable::Storage || a[2]->kind != Kind::String || a[3]->kind != Kind::String ||
      a[4]->kind != Kind::Int)
    fail("persistent id is not ('storage', torch.<Type>Storage, key, location, numel)");
  const StorageType* type = a[1]->storage_type;
  const std::string& key = a[2]->s;
  const int64_t numel = a[4]->i;
  const std::string what = "storage '" + printable(key) + "' (torch." + std::string(type->name) + ", " +
                           std::to_string(numel) + " elements)";
  if (auto it = storages_.find(key); it != storages_.end()) {
    if (it->second->storage_type != type || it->second->i != numel)
      fail(what + " was already read with another type or size");
    return it->second;
  }
  const ZipEntry* e = zip_.find(prefix_ + "/data/" + key);
  if (!e) fail(what + ": the archive has no entry '" + printable(prefix_ + "/data/" + key) + "'");
  if (numel < 0 || e->size % type->bytes != 0 || static_cast<uint64_t>(numel) != e->size / type->bytes)
    fail(what + " does not match entry '" + printable(e->name) + "' of " + std::to_string(e->size) +
         " bytes");
  zip_.data(*e);  // rejects compressed entries now
  Value* s = make(Kind::Storage);
  s->s = key;
  s->i = numel;
  s->storage_type = type;
  s->entry = e;
  storages_.emplace(key, s);
  return s;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata]) records
// a tensor; _rebuild_parameter(data, requires_grad, hooks) is its tensor.
Value* TorchUnpickler::rebuild(Value* fn, const std::vector<Value*>& a) {
  if (fn->callable == Callable::RebuildParameter) {
    if (a.size() != 3) fail(fn->s + " takes 3 arguments, got " + std::to_string(a.size()));
    arg(*fn, a, 1, Kind::Bool);
    return arg(*fn, a, 0, Kind::Tensor);
  }
  if (a.size() != 6 && a.size() != 7)
    fail(fn->s + " takes 6 or 7 arguments, got " + std::to_string(a.size()));
  Value* t = make(Kind::Tensor);
  t->storage = arg(*fn, a, 0, Kind::Storage);
  t->i = arg(*fn, a, 1, Kind::Int)->i;
  t->size = int_tuple_arg(*fn, a, 2);
  t->stride = int_tuple_arg(*fn, a, 3);
  arg(*fn, a, 4, Kind::Bool);
  return t;
}

namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | mant << 13);  // inf, nan
  return std::bit_cast<float>(sign | (exp + 112) << 23 | mant << 13);
}

float bf16_to_float(uint16_t h) {
  return std::bit_cast<float>(uint32_t{h} << 16);
}

// double -> T; to float with IEEE round-to-nearest and overflow to +-inf (f64_to_f32, shared with
// safetensors: a plain cast is UB out of range); to bf16 through that float.
template <class T>
T convert(double v) {
  if constexpr (std::is_same_v<T, double>)
    return v;
  else
    return from_float<T>(f64_to_f32(v));
}

template <class S>
S load_at(const std::byte* src, int64_t k) {
  S s;
  std::memcpy(&s, src + k * static_cast<int64_t>(sizeof(S)), sizeof(S));
  return s;
}

// src: n elements of `elem` (unaligned) -> dst: n elements of T.
template <class T>
void convert_elements(const std::byte* src, Elem elem, int64_t n, T* dst) {
  switch (elem) {
    case Elem::F32:
      for (int64_t k = 0; k < n; ++k) dst[k] = from_float<T>(load_at<float>(src, k));
      break;
    case Elem::F64:
      for (int64_t k = 0; k < n; ++k) dst[k] = convert<T>(load_at<double>(src, k));
      break;
    case Elem::F16:
      for (int64_t k = 0; k < n; ++k) dst[k] = from_float<T>(half_to_float(load_at<uint16_t>(src, k)));
      break;
    case Elem::BF16:
      for (int64_t k = 0; k < n; ++k) dst[k] = from_float<T>(bf16_to_float(load_at<uint16_t>(src, k)));
      break;
    default:
      BLT_ASSERT(false, "convert_elements: not a float storage");
  }
}

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "(";
  for (size_t k = 0; k < d.size(); ++k) s += (k ? "," : "") + std::to_string(d[k]);
  return s + ")";
}

// The element count of a float tensor of rank <= 4 whose size and stride agree in rank;
// FormatError (prefixed by `where`) otherwise.
int64_t checked_numel(const std::string& where, const Value& t) {
  const StorageType& type = *t.storage->storage_type;
  if (!type.is_float)
    throw FormatError(where + " is stored as torch." + std::string(type.name) +
                      "; only float32/float64/float16/bfloat16 tensors can be read");
  if (t.size.size() > static_cast<size_t>(Shape::kMaxRank))
    throw FormatError(where + " has shape " + dims_str(t.size) + "; at most 4 dimensions are supported");
  if (t.stride.size() != t.size.size())
    throw FormatError(where + ": size " + dims_str(t.size) + " and stride " + dims_str(t.stride) +
                      " differ in rank");
  // The non-zero dimensions must multiply within int64 even when a zero one makes the tensor empty
  // (Shape::numel checks the same).
  int64_t numel = 1;
  bool empty = false;
  for (int64_t d : t.size) {
    if (d == 0)
      empty = true;
    else if (d < 0 || __builtin_mul_overflow(numel, d, &numel))
      throw FormatError(where + " has an invalid shape " + dims_str(t.size));
  }
  return empty ? 0 : numel;
}

// Row-major contiguous, and elements [offset, offset + numel) within the storage.
void check_layout(const std::string& where, const Value& t, int64_t numel) {
  const Value& st = *t.storage;
  if (numel > 0) {  // the stride of a size-1 dimension does not matter (as in torch)
    int64_t expected = 1;
    for (size_t k = t.size.size(); k-- > 0;) {
      if (t.size[k] != 1 && t.stride[k] != expected)
        throw FormatError(where + " is not contiguous: size " + dims_str(t.size) + ", stride " +
                          dims_str(t.stride) + " (save it with .contiguous())");
      expected *= t.size[k];
    }
  }
  if (t.i < 0 || t.i > st.i || numel > st.i - t.i)
    throw FormatError(where + ": elements [" + std::to_string(t.i) + ", " + std::to_string(t.i) + "+" +
                      std::to_string(numel) + ") lie outside its storage '" + printable(st.s) + "' of " +
                      std::to_string(st.i) + " elements");
}

}  // namespace

namespace {
// The checked storage bytes of a recorded tensor: numel elements of the storage's type.
std::span<const std::byte> checked_bytes(const ZipReader& zip, const std::string& name, const Value& t,
                                         std::unordered_set<const ZipEntry*>& crc_checked, int64_t* numel) {
  const std::string where = zip.path() + ": tensor '" + printable(name) + "'";
  *numel = checked_numel(where, t);
  check_layout(where, t, *numel);
  const Value& st = *t.storage;
  const StorageType& type = *st.storage_type;
  if (crc_checked.insert(st.entry).second) zip.verify_crc(*st.entry);
  return zip.data(*st.entry).subspan(static_cast<size_t>(t.i) * type.bytes,
                                     static_cast<size_t>(*numel) * type.bytes);
}
}  // namespace

Tensor read_tensor(const ZipReader& zip, const std::string& name, const Value& t, DType to,
                   std::unordered_set<const ZipEntry*>& crc_checked) {
  int64_t numel = 0;
  const std::byte* src = checked_bytes(zip, name, t, crc_checked, &numel).data();
  Shape shape;
  for (int64_t d : t.size) shape = shape.appended(d);
  Tensor out = Tensor::empty(shape, to);
  dispatch_storage(
      to, [&]<class T>() { convert_elements(src, t.storage->storage_type->elem, numel, out.data<T>()); });
  return out;
}

std::vector<std::byte> read_tensor_bytes(const ZipReader& zip, const std::string& name, const Value& t,
                                         std::unordered_set<const ZipEntry*>& crc_checked,
                                         std::string* dtype) {
  int64_t numel = 0;
  const std::span<const std::byte> b = checked_bytes(zip, name, t, crc_checked, &numel);
  const Elem e = t.storage->storage_type->elem;  // a float storage: checked_numel admits no other
  *dtype = e == Elem::F32 ? "F32" : e == Elem::F64 ? "F64" : e == Elem::F16 ? "F16" : "BF16";
  return {b.begin(), b.end()};
}

}  // namespace blt::io::pickle
