// The restricted pickle machine: opcode dispatch by group (framing, containers,
// scalars, memo, objects), the bounds-checked byte stream, and the capped object
// pool, stack and memo. An opcode outside every group is rejected by name; nothing
// here executes code or recurses over objects. The allow-list of globals and the
// names used in messages are in pickle_allowlist.cpp.
#include "io/pickle_machine.h"

#include <bit>

#include "core/error.h"

namespace blt::io::pickle {

namespace {

constexpr size_t kMaxStack = size_t{1} << 20;  // values on the pickle stack
constexpr size_t kMaxMemo = size_t{1} << 21;   // memo entries
constexpr size_t kMaxObjects = size_t{1}
                               << 20;   // objects built by one data.pkl (~20 per tensor, ~200 B each)
constexpr size_t kMaxDepth = 100;       // MARK nesting
constexpr size_t kMaxGlobalName = 256;  // bytes per GLOBAL line

}  // namespace

PickleMachine::PickleMachine(std::string file, std::string pickle_name, std::span<const std::byte> data)
    : file_(std::move(file)), pickle_name_(std::move(pickle_name)), data_(data) {}

// --- the opcode loop and its groups ---

Value* PickleMachine::load() {
  for (;;) {
    if (pos_ >= data_.size()) {
      op_pos_ = pos_;
      op_ = 0;
      fail("data ends without STOP (truncated?)");
    }
    op_pos_ = pos_;
    op_ = u8();
    if (op_ == '.') return pop();  // STOP
    if (!framing_op() && !container_op() && !scalar_op() && !memo_op() && !object_op())
      fail("opcode " + opcode_name(op_) +
           " is not allowed: this reader accepts only the opcodes torch.save "
           "emits for containers and tensors");
  }
}

// PROTO and FRAME: protocol checks and length prefixes.
bool PickleMachine::framing_op() {
  switch (op_) {
    case 0x80: {  // PROTO
      const uint8_t v = u8();
      if (v < 2 || v > 5) fail("pickle protocol " + std::to_string(v) + " is not supported (2 to 5 are)");
      return true;
    }
    case 0x95:  // FRAME: a length prefix only
      if (u64() > data_.size() - pos_) fail("frame runs past the end of the data (truncated?)");
      return true;
    default:
      return false;
  }
}

// MARK, tuples, lists and dicts.
bool PickleMachine::container_op() {
  switch (op_) {
    case '(':  // MARK
      if (marks_.size() >= kMaxDepth) fail("containers nested deeper than " + std::to_string(kMaxDepth));
      marks_.push_back(stack_.size());
      return true;
    case '}':  // EMPTY_DICT
      push(make(Kind::Dict));
      return true;
    case ']':  // EMPTY_LIST
      push(make(Kind::List));
      return true;
    case ')':  // EMPTY_TUPLE
      push(make(Kind::Tuple));
      return true;
    case 't': {  // TUPLE
      Value* t = make(Kind::Tuple);
      t->items = pop_mark();
      push(t);
      return true;
    }
    case 0x85:  // TUPLE1
    case 0x86:  // TUPLE2
    case 0x87:  // TUPLE3
      push_small_tuple();
      return true;
    case 's': {  // SETITEM
      Value* v = pop();
      Value* k = pop();
      expect(top(), Kind::Dict, "the target")->dict.emplace_back(k, v);
      return true;
    }
    case 'u':  // SETITEMS
      set_items();
      return true;
    case 'a': {  // APPEND
      Value* v = pop();
      expect(top(), Kind::List, "the target")->items.push_back(v);
      return true;
    }
    case 'e': {  // APPENDS
      std::vector<Value*> vs = pop_mark();
      Value* l = expect(top(), Kind::List, "the target");
      l->items.insert(l->items.end(), vs.begin(), vs.end());
      return true;
    }
    default:
      return false;
  }
}

// TUPLE1..TUPLE3: the top 1 to 3 values, in stack order.
void PickleMachine::push_small_tuple() {
  Value* t = make(Kind::Tuple);
  t->items.resize(op_ - 0x84);
  for (size_t k = t->items.size(); k-- > 0;) t->items[k] = pop();
  push(t);
}

// SETITEMS: the key/value pairs above the last MARK, into the dict below it.
void PickleMachine::set_items() {
  std::vector<Value*> kv = pop_mark();
  if (kv.size() % 2) fail("odd number of items (" + std::to_string(kv.size()) + ") for key/value pairs");
  Value* d = expect(top(), Kind::Dict, "the target");
  for (size_t k = 0; k < kv.size(); k += 2) d->dict.emplace_back(kv[k], kv[k + 1]);
}

// Strings, ints, floats, None and bools.
bool PickleMachine::scalar_op() {
  switch (op_) {
    case 'X':  // BINUNICODE
      push_string(u32());
      return true;
    case 0x8c:  // SHORT_BINUNICODE
      push_string(u8());
      return true;
    case 0x8d:  // BINUNICODE8
      push_string(u64());
      return true;
    case 'J':  // BININT
      push_int(static_cast<int32_t>(u32()));
      return true;
    case 'K':  // BININT1
      push_int(u8());
      return true;
    case 'M':  // BININT2
      push_int(u16());
      return true;
    case 0x8a:  // LONG1
      push_long1();
      return true;
    case 'G':  // BINFLOAT
      push_binfloat();
      return true;
    case 'N':  // NONE
      push(make(Kind::None));
      return true;
    case 0x88:    // NEWTRUE
    case 0x89: {  // NEWFALSE
      Value* x = make(Kind::Bool);
      x->b = op_ == 0x88;
      push(x);
      return true;
    }
    default:
      return false;
  }
}

// LONG1: a length byte, then a little-endian two's complement integer of at most 8 bytes.
void PickleMachine::push_long1() {
  const uint8_t n = u8();
  if (n > 8) fail(std::to_string(n) + "-byte integer does not fit in 64 bits");
  std::span<const std::byte> b = bytes(n);
  uint64_t v = 0;
  for (size_t k = 0; k < n; ++k) v |= std::to_integer<uint64_t>(b[k]) << (8 * k);
  if (n > 0 && n < 8 && (std::to_integer<uint8_t>(b[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
  push_int(static_cast<int64_t>(v));
}

// BINFLOAT: a big-endian double.
void PickleMachine::push_binfloat() {
  std::span<const std::byte> b = bytes(8);
  uint64_t v = 0;
  for (std::byte c : b) v = v << 8 | std::to_integer<uint64_t>(c);
  Value* x = make(Kind::Float);
  x->f = std::bit_cast<double>(v);
  push(x);
}

// PUT/GET variants: the memo.
bool PickleMachine::memo_op() {
  switch (op_) {
    case 'q':  // BINPUT
      memo_put(u8());
      return true;
    case 'r':  // LONG_BINPUT
      memo_put(u32());
      return true;
    case 0x94:  // MEMOIZE
      memo_put(memo_.size());
      return true;
    case 'h':  // BINGET
      push(memo_get(u8()));
      return true;
    case 'j':  // LONG_BINGET
      push(memo_get(u32()));
      return true;
    default:
      return false;
  }
}

// Globals, calls, object state and persistent ids.
bool PickleMachine::object_op() {
  switch (op_) {
    case 'c': {  // GLOBAL "module\nname\n"
      std::string module = line();
      std::string name = line();
      push(global(module, name));
      return true;
    }
    case 0x93: {  // STACK_GLOBAL
      Value* name = expect(pop(), Kind::String, "the name");
      Value* module = expect(pop(), Kind::String, "the module");
      push(global(module->s, name->s));
      return true;
    }
    case 'R': {  // REDUCE
      Value* args = pop();
      Value* fn = pop();
      push(reduce(fn, args));
      return true;
    }
    case 'b':  // BUILD
      build();
      return true;
    case 'Q':  // BINPERSID
      push(persistent_load(pop()));
      return true;
    default:
      return false;
  }
}

// BUILD: only the `_metadata` attributes torch pickles on a state-dict OrderedDict.
void PickleMachine::build() {
  Value* state = pop();
  Value* obj = top();
  if (obj->kind != Kind::Dict || !obj->ordered)
    fail("BUILD (setting object state) is only supported on an OrderedDict, not on a " +
         std::string(kind_name(obj->kind)));
  if (state->kind != Kind::Dict && state->kind != Kind::Tuple && state->kind != Kind::None)
    fail("OrderedDict state is a " + std::string(kind_name(state->kind)));
  // the state is metadata; nothing of it is needed
}

void PickleMachine::fail(const std::string& what) const {
  throw FormatError(file_ + ": " + pickle_name_ + " byte " + std::to_string(op_pos_) +
                    (op_ ? " (" + opcode_name(op_) + ")" : std::string()) + ": " + what);
}

// --- reading the opcode stream ---

std::span<const std::byte> PickleMachine::bytes(uint64_t n) {
  if (n > data_.size() - pos_)
    fail(std::to_string(n) + " bytes announced but " + std::to_string(data_.size() - pos_) +
         " are left (truncated?)");
  std::span<const std::byte> b = data_.subspan(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return b;
}

// An n-byte little-endian unsigned integer.
uint64_t PickleMachine::le(int n) {
  std::span<const std::byte> b = bytes(n);
  uint64_t v = 0;
  for (int k = n; k-- > 0;) v = v << 8 | std::to_integer<uint64_t>(b[k]);
  return v;
}

// A '\n'-terminated GLOBAL line, without the '\n'.
std::string PickleMachine::line() {
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

Value* PickleMachine::make(Kind k) {
  if (pool_.size() >= kMaxObjects) fail("more than " + std::to_string(kMaxObjects) + " objects");
  pool_.emplace_back().kind = k;
  return &pool_.back();
}

void PickleMachine::push(Value* v) {
  if (stack_.size() >= kMaxStack) fail("stack deeper than " + std::to_string(kMaxStack));
  stack_.push_back(v);
}

// Nothing below the last MARK is visible.
Value* PickleMachine::top() {
  if (stack_.size() <= floor()) fail("stack underflow");
  return stack_.back();
}

Value* PickleMachine::pop() {
  Value* v = top();
  stack_.pop_back();
  return v;
}

std::vector<Value*> PickleMachine::pop_mark() {
  if (marks_.empty()) fail("no MARK to pop to");
  const size_t start = marks_.back();
  marks_.pop_back();
  std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(start), stack_.end());
  stack_.resize(start);
  return items;
}

void PickleMachine::memo_put(uint64_t index) {
  Value* v = top();
  if (memo_.size() >= kMaxMemo && !memo_.contains(index))
    fail("more than " + std::to_string(kMaxMemo) + " memo entries");
  memo_[index] = v;
}

Value* PickleMachine::memo_get(uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
  return it->second;
}

void PickleMachine::push_string(uint64_t n) {
  std::span<const std::byte> b = bytes(n);
  Value* v = make(Kind::String);
  v->s.assign(reinterpret_cast<const char*>(b.data()), b.size());
  push(v);
}

void PickleMachine::push_int(int64_t i) {
  Value* v = make(Kind::Int);
  v->i = i;
  push(v);
}

Value* PickleMachine::expect(Value* v, Kind k, const char* what) const {
  if (v->kind != k)
    fail(std::string(what) + " is a " + std::string(kind_name(v->kind)) + ", expected a " +
         std::string(kind_name(k)));
  return v;
}

}  // namespace blt::io::pickle
