// What the restricted pickle machine accepts and how it names what it rejects: the
// allow-listed globals (GLOBAL and STACK_GLOBAL resolve only torch._utils rebuilds,
// torch.<Type>Storage and collections.OrderedDict), REDUCE of them with checked
// arguments, and the names of opcodes and kinds (and escaped strings) for messages.
#include <cstdio>

#include "io/pickle_machine.h"

namespace blt::io::pickle {

namespace {

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

}  // namespace

std::string opcode_name(uint8_t op) {
  for (const auto& [code, name] : kOpcodeNames)
    if (code == op) return std::string(name);
  char buf[16];
  std::snprintf(buf, sizeof buf, "unknown 0x%02x", op);
  return buf;
}

std::string_view kind_name(Kind k) {
  constexpr std::string_view names[] = {"None", "bool", "int",    "float",   "str",   "tuple",
                                        "list", "dict", "global", "storage", "tensor"};
  return names[static_cast<int>(k)];
}

std::string printable(std::string_view s, size_t max) {
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

// --- the allow-list ---

Value* PickleMachine::global(const std::string& module, const std::string& name) {
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

// REDUCE: OrderedDict() here, the torch rebuilds in the subclass; storage types are not callable.
Value* PickleMachine::reduce(Value* fn, Value* args) {
  if (fn->kind != Kind::Global)
    fail("calls a " + std::string(kind_name(fn->kind)) + ", not an allowed global");
  expect(args, Kind::Tuple, "the argument list");
  const std::vector<Value*>& a = args->items;
  switch (fn->callable) {
    case Callable::OrderedDict: {
      if (!a.empty()) fail("collections.OrderedDict is only supported without arguments");
      Value* d = make(Kind::Dict);
      d->ordered = true;
      return d;
    }
    case Callable::RebuildTensorV2:
    case Callable::RebuildParameter:
      return rebuild(fn, a);
    case Callable::Storage:
      break;
  }
  fail("global '" + fn->s + "' is a storage type and cannot be called");
}

Value* PickleMachine::arg(const Value& fn, const std::vector<Value*>& a, size_t k, Kind kind) const {
  if (a[k]->kind != kind)
    fail(fn.s + " argument " + std::to_string(k) + " is a " + std::string(kind_name(a[k]->kind)) +
         ", expected a " + std::string(kind_name(kind)));
  return a[k];
}

std::vector<int64_t> PickleMachine::int_tuple_arg(const Value& fn, const std::vector<Value*>& a,
                                                  size_t k) const {
  std::vector<int64_t> out;
  for (Value* v : arg(fn, a, k, Kind::Tuple)->items) {
    if (v->kind != Kind::Int) fail(fn.s + " argument " + std::to_string(k) + " holds a non-int");
    out.push_back(v->i);
  }
  return out;
}

}  // namespace blt::io::pickle
