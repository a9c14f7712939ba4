// A restricted pickle machine for torch.save's data.pkl, and the conversion of
// the tensors it names into Tensors. Objects live in a pool owned by the machine
// and refer to each other by raw pointer, so hostile cycles leak nothing and no
// code here recurses over objects; stack, memo, MARK nesting and object count are
// capped. Tensors are only recorded while unpickling (storage key, offset, sizes,
// strides); they are checked and copied out when the chosen state dict is read.
#include "io/pth.h"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <span>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "io/zip_reader.h"

namespace blt::io {

static_assert(std::endian::native == std::endian::little,
              "torch.save storages are little-endian; so must we be");

namespace {

constexpr size_t kMaxStack = size_t{1} << 20;  // values on the pickle stack
constexpr size_t kMaxMemo = size_t{1} << 21;   // memo entries
constexpr size_t kMaxObjects = size_t{1}
                               << 20;   // objects built by one data.pkl (~20 per tensor, ~200 B each)
constexpr size_t kMaxDepth = 100;       // MARK nesting
constexpr size_t kMaxGlobalName = 256;  // bytes per GLOBAL line

// The storage classes torch.save names in persistent ids. Integer storages may appear (optimizer state,
// buffers) and are parsed, but only float tensors can be read into a Tensor.
enum class Elem { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };
struct StorageType {
  std::string_view name;  // class name in module `torch`
  Elem elem;
  uint64_t bytes;  // per element
  bool is_float;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", Elem::F32, 4, true},  {"DoubleStorage", Elem::F64, 8, true},
    {"HalfStorage", Elem::F16, 2, true},   {"BFloat16Storage", Elem::BF16, 2, true},
    {"LongStorage", Elem::I64, 8, false},  {"IntStorage", Elem::I32, 4, false},
    {"ShortStorage", Elem::I16, 2, false}, {"CharStorage", Elem::I8, 1, false},
    {"ByteStorage", Elem::U8, 1, false},   {"BoolStorage", Elem::Bool, 1, false},
};

// The allowed globals. Storage types are tokens inside persistent ids and cannot be called.
enum class Callable { RebuildTensorV2, RebuildParameter, OrderedDict, Storage };

enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };

std::string_view kind_name(Kind k) {
  constexpr std::string_view names[] = {"None", "bool", "int",    "float",   "str",   "tuple",
                                        "list", "dict", "global", "storage", "tensor"};
  return names[static_cast<int>(k)];
}

// One unpickled object. Which fields are used depends on `kind`.
struct Value {
  Kind kind = Kind::None;
  bool b = false;                               // Bool
  int64_t i = 0;                                // Int; Storage: numel; Tensor: storage offset (elements)
  double f = 0;                                 // Float
  std::string s;                                // String; Global: "module.name"; Storage: key
  std::vector<Value*> items;                    // Tuple, List
  std::vector<std::pair<Value*, Value*>> dict;  // Dict, in insertion order (a later equal key wins)
  bool ordered = false;                         // Dict made by collections.OrderedDict()
  Callable callable = Callable::OrderedDict;    // Global
  const StorageType* storage_type = nullptr;    // Global (Callable::Storage), Storage
  const ZipEntry* entry = nullptr;              // Storage: its bytes in the archive
  Value* storage = nullptr;                     // Tensor
  std::vector<int64_t> size, stride;            // Tensor
};

// Escapes what a hostile file may put in a name before it goes into an error message.
std::string printable(std::string_view s, size_t max = 120) {
  std::string out;
  for (size_t k = 0; k < s.size() && k < max; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// Every pickle opcode (protocols 0-5) by name, so that a rejected one is named in the error.
constexpr std::pair<uint8_t, std::string_view> kOpcodeNames[] = {
    {'(', "MARK"},          {'.', "STOP"},
    {'0', "POP"},           {'1', "POP_MARK"},
    {'2', "DUP"},           {'F', "FLOAT"},
    {'I', "INT"},           {'J', "BININT"},
    {'K', "BININT1"},       {'L', "LONG"},
    {'M', "BININT2"},       {'N', "NONE"},
    {'P', "PERSID"},        {'Q', "BINPERSID"},
    {'R', "REDUCE"},        {'S', "STRING"},
    {'T', "BINSTRING"},     {'U', "SHORT_BINSTRING"},
    {'V', "UNICODE"},       {'X', "BINUNICODE"},
    {'B', "BINBYTES"},      {'C', "SHORT_BINBYTES"},
    {'G', "BINFLOAT"},      {'a', "APPEND"},
    {'b', "BUILD"},         {'c', "GLOBAL"},
    {'d', "DICT"},          {'}', "EMPTY_DICT"},
    {'e', "APPENDS"},       {'g', "GET"},
    {'h', "BINGET"},        {'i', "INST"},
    {'j', "LONG_BINGET"},   {'l', "LIST"},
    {']', "EMPTY_LIST"},    {'o', "OBJ"},
    {'p', "PUT"},           {'q', "BINPUT"},
    {'r', "LONG_BINPUT"},   {'s', "SETITEM"},
    {'t', "TUPLE"},         {')', "EMPTY_TUPLE"},
    {'u', "SETITEMS"},      {0x80, "PROTO"},
    {0x81, "NEWOBJ"},       {0x82, "EXT1"},
    {0x83, "EXT2"},         {0x84, "EXT4"},
    {0x85, "TUPLE1"},       {0x86, "TUPLE2"},
    {0x87, "TUPLE3"},       {0x88, "NEWTRUE"},
    {0x89, "NEWFALSE"},     {0x8a, "LONG1"},
    {0x8b, "LONG4"},        {0x8c, "SHORT_BINUNICODE"},
    {0x8d, "BINUNICODE8"},  {0x8e, "BINBYTES8"},
    {0x8f, "EMPTY_SET"},    {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"},    {0x92, "NEWOBJ_EX"},
    {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
    {0x95, "FRAME"},        {0x96, "BYTEARRAY8"},
    {0x97, "NEXT_BUFFER"},  {0x98, "READONLY_BUFFER"}};

std::string opcode_name(uint8_t op) {
  for (const auto& [code, name] : kOpcodeNames)
    if (code == op) return std::string(name);
  char buf[16];
  std::snprintf(buf, sizeof buf, "unknown 0x%02x", op);
  return buf;
}

// Runs data.pkl over a whitelist of opcodes; load() returns the object STOP pops.
class Unpickler {
 public:
  Unpickler(const ZipReader& zip, std::string prefix, const ZipEntry& pkl)
      : zip_(zip), prefix_(std::move(prefix)), pkl_(pkl), data_(zip.data(pkl)) {}

  Value* load() {
    for (;;) {
      if (pos_ >= data_.size()) {
        op_pos_ = pos_;
        op_ = 0;
        fail("data ends without STOP (truncated?)");
      }
      op_pos_ = pos_;
      op_ = u8();
      switch (op_) {
        case 0x80: {  // PROTO
          const uint8_t v = u8();
          if (v < 2 || v > 5) fail("pickle protocol " + std::to_string(v) + " is not supported (2 to 5 are)");
          break;
        }
        case 0x95:  // FRAME: a length prefix only
          if (u64() > data_.size() - pos_) fail("frame runs past the end of the data (truncated?)");
          break;
        case '.':  // STOP
          return pop();
        case '(':  // MARK
          if (marks_.size() >= kMaxDepth) fail("containers nested deeper than " + std::to_string(kMaxDepth));
          marks_.push_back(stack_.size());
          break;
        case '}':  // EMPTY_DICT
          push(make(Kind::Dict));
          break;
        case ']':  // EMPTY_LIST
          push(make(Kind::List));
          break;
        case ')':  // EMPTY_TUPLE
          push(make(Kind::Tuple));
          break;
        case 't': {  // TUPLE
          Value* t = make(Kind::Tuple);
          t->items = pop_mark();
          push(t);
          break;
        }
        case 0x85:    // TUPLE1
        case 0x86:    // TUPLE2
        case 0x87: {  // TUPLE3
          Value* t = make(Kind::Tuple);
          t->items.resize(op_ - 0x84);
          for (size_t k = t->items.size(); k-- > 0;) t->items[k] = pop();
          push(t);
          break;
        }
        case 's': {  // SETITEM
          Value* v = pop();
          Value* k = pop();
          expect(top(), Kind::Dict, "the target")->dict.emplace_back(k, v);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Value*> kv = pop_mark();
          if (kv.size() % 2)
            fail("odd number of items (" + std::to_string(kv.size()) + ") for key/value pairs");
          Value* d = expect(top(), Kind::Dict, "the target");
          for (size_t k = 0; k < kv.size(); k += 2) d->dict.emplace_back(kv[k], kv[k + 1]);
          break;
        }
        case 'a': {  // APPEND
          Value* v = pop();
          expect(top(), Kind::List, "the target")->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          std::vector<Value*> vs = pop_mark();
          Value* l = expect(top(), Kind::List, "the target");
          l->items.insert(l->items.end(), vs.begin(), vs.end());
          break;
        }
        case 'X':  // BINUNICODE
          push_string(u32());
          break;
        case 0x8c:  // SHORT_BINUNICODE
          push_string(u8());
          break;
        case 0x8d:  // BINUNICODE8
          push_string(u64());
          break;
        case 'J':  // BININT
          push_int(static_cast<int32_t>(u32()));
          break;
        case 'K':  // BININT1
          push_int(u8());
          break;
        case 'M':  // BININT2
          push_int(u16());
          break;
        case 0x8a: {  // LONG1: little-endian two's complement
          const uint8_t n = u8();
          if (n > 8) fail(std::to_string(n) + "-byte integer does not fit in 64 bits");
          std::span<const std::byte> b = bytes(n);
          uint64_t v = 0;
          for (size_t k = 0; k < n; ++k) v |= std::to_integer<uint64_t>(b[k]) << (8 * k);
          if (n > 0 && n < 8 && (std::to_integer<uint8_t>(b[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
          push_int(static_cast<int64_t>(v));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          std::span<const std::byte> b = bytes(8);
          uint64_t v = 0;
          for (std::byte c : b) v = v << 8 | std::to_integer<uint64_t>(c);
          Value* x = make(Kind::Float);
          x->f = std::bit_cast<double>(v);
          push(x);
          break;
        }
        case 'N':  // NONE
          push(make(Kind::None));
          break;
        case 0x88:    // NEWTRUE
        case 0x89: {  // NEWFALSE
          Value* x = make(Kind::Bool);
          x->b = op_ == 0x88;
          push(x);
          break;
        }
        case 'q':  // BINPUT
          memo_put(u8());
          break;
        case 'r':  // LONG_BINPUT
          memo_put(u32());
          break;
        case 0x94:  // MEMOIZE
          memo_put(memo_.size());
          break;
        case 'h':  // BINGET
          push(memo_get(u8()));
          break;
        case 'j':  // LONG_BINGET
          push(memo_get(u32()));
          break;
        case 'c': {  // GLOBAL "module\nname\n"
          std::string module = line();
          std::string name = line();
          push(global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value* name = expect(pop(), Kind::String, "the name");
          Value* module = expect(pop(), Kind::String, "the module");
          push(global(module->s, name->s));
          break;
        }
        case 'R': {  // REDUCE
          Value* args = pop();
          Value* fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 'b': {  // BUILD: only the `_metadata` attributes torch pickles on a state-dict OrderedDict
          Value* state = pop();
          Value* obj = top();
          if (obj->kind != Kind::Dict || !obj->ordered)
            fail("BUILD (setting object state) is only supported on an OrderedDict, not on a " +
                 std::string(kind_name(obj->kind)));
          if (state->kind != Kind::Dict && state->kind != Kind::Tuple && state->kind != Kind::None)
            fail("OrderedDict state is a " + std::string(kind_name(state->kind)));
          break;  // the state is metadata; nothing of it is needed
        }
        case 'Q':  // BINPERSID
          push(persistent_load(pop()));
          break;
        default:
          fail("opcode " + opcode_name(op_) +
               " is not allowed: this reader accepts only the opcodes torch.save "
               "emits for containers and tensors");
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(zip_.path() + ": " + pkl_.name + " byte " + std::to_string(op_pos_) +
                      (op_ ? " (" + opcode_name(op_) + ")" : std::string()) + ": " + what);
  }

  // --- reading the opcode stream (all bounds-checked) ---
  std::span<const std::byte> bytes(uint64_t n) {
    if (n > data_.size() - pos_)
      fail(std::to_string(n) + " bytes announced but " + std::to_string(data_.size() - pos_) +
           " are left (truncated?)");
    std::span<const std::byte> b = data_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return b;
  }
  uint64_t le(int n) {
    std::span<const std::byte> b = bytes(n);
    uint64_t v = 0;
    for (int k = n; k-- > 0;) v = v << 8 | std::to_integer<uint64_t>(b[k]);
    return v;
  }
  uint8_t u8() { return static_cast<uint8_t>(le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  std::string line() {
    std::string s;
    for (;;) {
      const char c = static_cast<char>(u8());
      if (c == '\n') return s;
      if (s.size() >= kMaxGlobalName)
        fail("GLOBAL name longer than " + std::to_string(kMaxGlobalName) + " bytes");
      s += c;
    }
  }

  // --- the stack and the memo ---
  Value* make(Kind k) {
    if (pool_.size() >= kMaxObjects) fail("more than " + std::to_string(kMaxObjects) + " objects");
    pool_.emplace_back().kind = k;
    return &pool_.back();
  }
  void push(Value* v) {
    if (stack_.size() >= kMaxStack) fail("stack deeper than " + std::to_string(kMaxStack));
    stack_.push_back(v);
  }
  // Nothing below the last MARK is visible.
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  Value* top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  Value* pop() {
    Value* v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const size_t start = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(start), stack_.end());
    stack_.resize(start);
    return items;
  }
  void memo_put(uint64_t index) {
    Value* v = top();
    if (memo_.size() >= kMaxMemo && !memo_.contains(index))
      fail("more than " + std::to_string(kMaxMemo) + " memo entries");
    memo_[index] = v;
  }
  Value* memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    return it->second;
  }
  void push_string(uint64_t n) {
    std::span<const std::byte> b = bytes(n);
    Value* v = make(Kind::String);
    v->s.assign(reinterpret_cast<const char*>(b.data()), b.size());
    push(v);
  }
  void push_int(int64_t i) {
    Value* v = make(Kind::Int);
    v->i = i;
    push(v);
  }
  Value* expect(Value* v, Kind k, const char* what) const {
    if (v->kind != k)
      fail(std::string(what) + " is a " + std::string(kind_name(v->kind)) + ", expected a " +
           std::string(kind_name(k)));
    return v;
  }

  // --- the allow-list ---
  Value* global(const std::string& module, const std::string& name) {
    Value* g = make(Kind::Global);
    g->s = module + "." + name;
    if (g->s == "torch._utils._rebuild_tensor_v2") {
      g->callable = Callable::RebuildTensorV2;
    } else if (g->s == "torch._utils._rebuild_parameter") {
      g->callable = Callable::RebuildParameter;
    } else if (g->s == "collections.OrderedDict") {
      g->callable = Callable::OrderedDict;
    } else {
      for (const StorageType& t : kStorageTypes)
        if (module == "torch" && name == t.name) {
          g->callable = Callable::Storage;
          g->storage_type = &t;
          return g;
        }
      fail("global '" + printable(g->s) +
           "' is not allowed: a checkpoint may only name torch._utils._rebuild_tensor_v2, "
           "torch._utils._rebuild_parameter, torch.<Type>Storage and collections.OrderedDict");
    }
    return g;
  }

  Value* reduce(Value* fn, Value* args) {
    if (fn->kind != Kind::Global)
      fail("calls a " + std::string(kind_name(fn->kind)) + ", not an allowed global");
    expect(args, Kind::Tuple, "the argument list");
    const std::vector<Value*>& a = args->items;
    auto arg = [&](size_t k, Kind kind) -> Value* {
      if (a[k]->kind != kind)
        fail(fn->s + " argument " + std::to_string(k) + " is a " + std::string(kind_name(a[k]->kind)) +
             ", expected a " + std::string(kind_name(kind)));
      return a[k];
    };
    auto ints = [&](size_t k) -> std::vector<int64_t> {
      std::vector<int64_t> out;
      for (Value* v : arg(k, Kind::Tuple)->items) {
        if (v->kind != Kind::Int) fail(fn->s + " argument " + std::to_string(k) + " holds a non-int");
        out.push_back(v->i);
      }
      return out;
    };
    switch (fn->callable) {
      case Callable::OrderedDict: {
        if (!a.empty()) fail("collections.OrderedDict is only supported without arguments");
        Value* d = make(Kind::Dict);
        d->ordered = true;
        return d;
      }
      case Callable::RebuildTensorV2: {  // (storage, storage_offset, size, stride, requires_grad, hooks[,
                                         // metadata])
        if (a.size() != 6 && a.size() != 7)
          fail(fn->s + " takes 6 or 7 arguments, got " + std::to_string(a.size()));
        Value* t = make(Kind::Tensor);
        t->storage = arg(0, Kind::Storage);
        t->i = arg(1, Kind::Int)->i;
        t->size = ints(2);
        t->stride = ints(3);
        arg(4, Kind::Bool);
        return t;
      }
      case Callable::RebuildParameter:  // (data, requires_grad, hooks): the parameter is its tensor
        if (a.size() != 3) fail(fn->s + " takes 3 arguments, got " + std::to_string(a.size()));
        arg(1, Kind::Bool);
        return arg(0, Kind::Tensor);
      case Callable::Storage:
        break;
    }
    fail("global '" + fn->s + "' is a storage type and cannot be called");
  }

  // ('storage', storage_type, key, location, numel) -> the entry <prefix>/data/<key>.
  Value* persistent_load(Value* pid) {
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

  const ZipReader& zip_;
  std::string prefix_;  // the archive's top-level folder
  const ZipEntry& pkl_;
  std::span<const std::byte> data_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;  // where the current opcode starts, for messages
  uint8_t op_ = 0;
  std::deque<Value> pool_;  // owns every object; stable addresses
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint64_t, Value*> memo_;
  std::unordered_map<std::string, Value*> storages_;  // by key: shared storages are read once
};

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

// double -> float with IEEE round-to-nearest, including overflow to +-inf (a plain cast is UB out of range).
float narrow(double v) {
  if (!(std::fabs(v) > FLT_MAX)) return static_cast<float>(v);  // in range, or nan
  const double limit =
      static_cast<double>(FLT_MAX) + std::ldexp(1.0, 103);  // FLT_MAX + half an ulp: ties to inf
  if (std::fabs(v) < limit) return v > 0 ? FLT_MAX : -FLT_MAX;
  return v > 0 ? INFINITY : -INFINITY;
}

template <class T>
T convert(double v) {
  if constexpr (std::is_same_v<T, float>)
    return narrow(v);
  else
    return v;
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
      for (int64_t k = 0; k < n; ++k) dst[k] = static_cast<T>(load_at<float>(src, k));
      break;
    case Elem::F64:
      for (int64_t k = 0; k < n; ++k) dst[k] = convert<T>(load_at<double>(src, k));
      break;
    case Elem::F16:
      for (int64_t k = 0; k < n; ++k) dst[k] = static_cast<T>(half_to_float(load_at<uint16_t>(src, k)));
      break;
    case Elem::BF16:
      for (int64_t k = 0; k < n; ++k) dst[k] = static_cast<T>(bf16_to_float(load_at<uint16_t>(src, k)));
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

// Checks a recorded tensor against its storage and copies it out as `to`.
// `crc_checked` holds the storage entries already verified (storages are shared between tensors).
Tensor read_tensor(const ZipReader& zip, const std::string& name, const Value& t, DType to,
                   std::unordered_set<const ZipEntry*>& crc_checked) {
  const std::string where = zip.path() + ": tensor '" + printable(name) + "'";
  const Value& st = *t.storage;
  const StorageType& type = *st.storage_type;
  if (!type.is_float)
    throw FormatError(where + " is stored as torch." + std::string(type.name) +
                      "; only float32/float64/float16/bfloat16 tensors can be read");
  if (t.size.size() > static_cast<size_t>(Shape::kMaxRank))
    throw FormatError(where + " has shape " + dims_str(t.size) + "; at most 4 dimensions are supported");
  if (t.stride.size() != t.size.size())
    throw FormatError(where + ": size " + dims_str(t.size) + " and stride " + dims_str(t.stride) +
                      " differ in rank");
  int64_t numel = 1;
  for (int64_t d : t.size)
    if (d < 0 || __builtin_mul_overflow(numel, d, &numel))
      throw FormatError(where + " has an invalid shape " + dims_str(t.size));
  if (numel > 0) {  // row-major contiguous; the stride of a size-1 dimension does not matter (as in torch)
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
  if (crc_checked.insert(st.entry).second) zip.verify_crc(*st.entry);
  const std::byte* src = zip.data(*st.entry).data() + t.i * static_cast<int64_t>(type.bytes);

  Shape shape;
  for (int64_t d : t.size) shape = shape.appended(d);
  Tensor out = Tensor::empty(shape, to);
  dispatch(to, [&]<class T>() { convert_elements(src, type.elem, numel, out.data<T>()); });
  return out;
}

// The value of string key `key` in a dict (the last one, as Python keeps), or nullptr.
const Value* lookup(const Value& dict, const std::string& key) {
  const Value* found = nullptr;
  for (const auto& [k, v] : dict.dict)
    if (k->kind == Kind::String && k->s == key) found = v;
  return found;
}

bool is_tensor_dict(const Value& v) {
  if (v.kind != Kind::Dict) return false;
  for (const auto& [k, x] : v.dict)
    if (k->kind != Kind::String || x->kind != Kind::Tensor) return false;
  return true;
}

std::string key_list(const Value& dict) {
  std::string s;
  size_t n = 0;
  for (const auto& [k, v] : dict.dict) {
    if (n == 8) return s + ", ...";
    s += (n++ ? ", " : "") +
         (k->kind == Kind::String ? "'" + printable(k->s, 60) + "'" : std::string(kind_name(k->kind)));
  }
  return s.empty() ? "none" : s;
}

}  // namespace

std::map<std::string, Tensor> read_pth_state_dict(const std::string& path, const std::string& entry,
                                                  DType to) {
  ZipReader zip(path);
  // torch.save puts every record under one top-level folder, named after the file: <archive>/data.pkl.
  const ZipEntry* pkl = nullptr;
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash == 0 || slash == std::string::npos ||
        e.name.compare(slash, std::string::npos, "/data.pkl") != 0)
      continue;
    if (pkl) throw FormatError(path + ": two pickles, '" + pkl->name + "' and '" + printable(e.name) + "'");
    pkl = &e;
  }
  if (!pkl)
    throw FormatError(path +
                      ": no '<archive>/data.pkl' entry: not a torch.save zip checkpoint "
                      "(the legacy pre-1.6 format is not supported)");
  const std::string prefix = pkl->name.substr(0, pkl->name.find('/'));
  if (const ZipEntry* order = zip.find(prefix + "/byteorder")) {
    std::span<const std::byte> b = zip.data(*order);
    if (std::string_view(reinterpret_cast<const char*>(b.data()), b.size()) != "little")
      throw FormatError(path + ": storages are not little-endian ('" + printable(order->name) + "')");
  }
  zip.verify_crc(*pkl);

  Unpickler unpickler(zip, prefix, *pkl);
  const Value* root = unpickler.load();
  if (root->kind != Kind::Dict)
    throw FormatError(path + ": the checkpoint holds a " + std::string(kind_name(root->kind)) +
                      ", not a dict");
  const Value* picked = entry.empty() ? nullptr : lookup(*root, entry);
  const Value* sd = nullptr;
  if (picked && picked->kind == Kind::Dict)
    sd = picked;
  else if (is_tensor_dict(*root))
    sd = root;
  else if (picked)
    throw FormatError(path + ": entry '" + entry + "' is a " + std::string(kind_name(picked->kind)) +
                      ", not a dict of tensors");
  else if (entry.empty())
    throw FormatError(path + ": the top-level dict (keys: " + key_list(*root) + ") is not a dict of tensors");
  else
    throw FormatError(path + ": no entry '" + entry + "' in the top-level dict (keys: " + key_list(*root) +
                      "), and that dict is not a dict of tensors itself");

  const std::string where = sd == root ? path : path + ": entry '" + entry + "'";
  std::map<std::string, Tensor> out;
  std::unordered_set<const ZipEntry*> crc_checked;
  for (const auto& [k, v] : sd->dict) {
    if (k->kind != Kind::String)
      throw FormatError(where + ": a key is a " + std::string(kind_name(k->kind)) + ", not a string");
    if (v->kind != Kind::Tensor)
      throw FormatError(where + ": '" + printable(k->s) + "' is a " + std::string(kind_name(v->kind)) +
                        ", not a tensor");
    out.insert_or_assign(k->s, read_tensor(zip, k->s, *v, to, crc_checked));
  }
  return out;
}

}  // namespace blt::io
