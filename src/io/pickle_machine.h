// Internal to the .pth reader: the object model and the restricted pickle machine
// that decodes torch.save's data.pkl. The machine knows only the opcodes torch.save
// emits for containers and tensors and an allow-list of globals; what torch adds
// (persistent ids naming storages, _rebuild_tensor_v2/_rebuild_parameter) is left to
// a subclass (TorchUnpickler, io/pth_tensors.h). Objects live in a pool owned by the
// machine and refer to each other by raw pointer, so hostile cycles leak nothing and
// no code here recurses over objects; stack, memo, MARK nesting and object count are capped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace blt::io {
struct ZipEntry;
}

namespace blt::io::pickle {

// The storage classes torch.save names in persistent ids. Integer storages may appear (optimizer state,
// buffers) and are parsed, but only float tensors can be read into a Tensor.
enum class Elem { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };
struct StorageType {
  std::string_view name;  // class name in module `torch`
  Elem elem;
  uint64_t bytes;  // per element
  bool is_float;
};
inline constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", Elem::F32, 4, true},  {"DoubleStorage", Elem::F64, 8, true},
    {"HalfStorage", Elem::F16, 2, true},   {"BFloat16Storage", Elem::BF16, 2, true},
    {"LongStorage", Elem::I64, 8, false},  {"IntStorage", Elem::I32, 4, false},
    {"ShortStorage", Elem::I16, 2, false}, {"CharStorage", Elem::I8, 1, false},
    {"ByteStorage", Elem::U8, 1, false},   {"BoolStorage", Elem::Bool, 1, false},
};

// The allowed globals. Storage types are tokens inside persistent ids and cannot be called.
enum class Callable { RebuildTensorV2, RebuildParameter, OrderedDict, Storage };

enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };

// "None", "bool", "int", ... as Python would name the kind.
std::string_view kind_name(Kind k);

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

// "BINPUT", "REDUCE", ... for any pickle opcode (protocols 0-5); "unknown 0xNN" otherwise.
std::string opcode_name(uint8_t op);

// Escapes what a hostile file may put in a name before it goes into an error message
// (non-printable bytes as \xNN, cut after `max` bytes with "...").
std::string printable(std::string_view s, size_t max = 120);

// Runs a pickle over a whitelist of opcodes; load() returns the object STOP pops. Every error is a
// FormatError "<file>: <pickle> byte <n> (<OPCODE>): <what>".
class PickleMachine {
 public:
  PickleMachine(const PickleMachine&) = delete;
  PickleMachine& operator=(const PickleMachine&) = delete;
  Value* load();

 protected:
  // `file` and `pickle_name` name the data in messages; `data` must outlive the machine.
  PickleMachine(std::string file, std::string pickle_name, std::span<const std::byte> data);
  virtual ~PickleMachine() = default;

  // BINPERSID: the object a persistent id stands for.
  virtual Value* persistent_load(Value* pid) = 0;
  // REDUCE of torch._utils._rebuild_tensor_v2 or _rebuild_parameter; `fn` is the global, `a` its arguments.
  virtual Value* rebuild(Value* fn, const std::vector<Value*>& a) = 0;

  [[noreturn]] void fail(const std::string& what) const;
  // A new object in the pool (capped at kMaxObjects).
  Value* make(Kind k);
  // `v`, after checking it is a `k`; `what` names it in the error.
  Value* expect(Value* v, Kind k, const char* what) const;
  // Argument `k` of a call to `fn`, after checking it is a `kind`.
  Value* arg(const Value& fn, const std::vector<Value*>& a, size_t k, Kind kind) const;
  // Argument `k` of a call to `fn`, a tuple of ints.
  std::vector<int64_t> int_tuple_arg(const Value& fn, const std::vector<Value*>& a, size_t k) const;

 private:
  // Opcode groups: each runs op_ and returns true if op_ belongs to it.
  bool framing_op();
  bool container_op();
  bool scalar_op();
  bool memo_op();
  bool object_op();
  void push_small_tuple();
  void set_items();
  void push_long1();
  void push_binfloat();
  void build();

  // Reading the opcode stream (all bounds-checked).
  std::span<const std::byte> bytes(uint64_t n);
  uint64_t le(int n);
  uint8_t u8() { return static_cast<uint8_t>(le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  std::string line();

  // The stack and the memo.
  void push(Value* v);
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  Value* top();
  Value* pop();
  std::vector<Value*> pop_mark();
  void memo_put(uint64_t index);
  Value* memo_get(uint64_t index);
  void push_string(uint64_t n);
  void push_int(int64_t i);

  // The allow-list: GLOBAL resolution and REDUCE (pickle_allowlist.cpp).
  Value* global(const std::string& module, const std::string& name);
  Value* reduce(Value* fn, Value* args);

  std::string file_;
  std::string pickle_name_;
  std::span<const std::byte> data_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;  // where the current opcode starts, for messages
  uint8_t op_ = 0;
  std::deque<Value> pool_;  // owns every object; stable addresses
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint64_t, Value*> memo_;
};

}  // namespace blt::io::pickle
