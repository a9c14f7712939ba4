// read_pth_state_dict and ZipReader. The torch.save fixtures in tests/golden/pth
// (made by scripts/fixtures/make_pth_fixture.py) must load exactly; hostile,
// truncated and corrupted files must be a FormatError/IoError naming the cause,
// never a crash (CI reruns every Pth* suite under ASan+UBSan). Hand-written
// pickles are wrapped in a zip by the stored-zip writer (support/zip_writer.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/pth.h"
#include "io/zip_reader.h"
#include "support/zip_writer.h"

namespace blt::test {
namespace {

using io::read_pth_state_dict;
const std::string kDir = "tests/golden/pth/";

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("test: cannot open " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A file under the test temp dir, removed when the object goes.
class TempFile {
 public:
  explicit TempFile(const std::string& bytes) {
    static int counter = 0;
    path_ = ::testing::TempDir() + "blt_pth_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) +
            ".pth";
    std::ofstream f(path_, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- a pickle writer for hand-made data.pkl files (protocol 2, as torch.save writes) ---
struct Pickle {
  std::string b = "\x80\x02";
  Pickle& op(std::string_view s) {
    b += s;
    return *this;
  }
  Pickle& str(std::string_view s) {
    b += 'X';
    put32(b, static_cast<uint32_t>(s.size()));
    b += s;
    return *this;
  }
  Pickle& i(int32_t v) {
    b += 'J';
    put32(b, static_cast<uint32_t>(v));
    return *this;
  }
  Pickle& global(std::string_view module, std::string_view name) {
    b += 'c';
    b += module;
    b += '\n';
    b += name;
    b += '\n';
    return *this;
  }
  Pickle& ints(const std::vector<int32_t>& v) {
    b += '(';
    for (int32_t x : v) i(x);
    b += 't';
    return *this;
  }
  // _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False,
  // OrderedDict())
  Pickle& tensor(std::string_view key, int32_t numel, int32_t offset, const std::vector<int32_t>& size,
                 const std::vector<int32_t>& stride, std::string_view type = "FloatStorage") {
    global("torch._utils", "_rebuild_tensor_v2")
        .op("((")
        .str("storage")
        .global("torch", type)
        .str(key)
        .str("cpu");
    i(numel).op("tQ").i(offset).ints(size).ints(stride).op("\x89").global("collections", "OrderedDict");
    return op(")Rt").op("R");
  }
};

// {"model": {<body: key/value pairs>}} as a whole data.pkl.
std::string model_pickle(const std::function<void(Pickle&)>& body) {
  Pickle p;
  p.op("}(").str("model").op("}(");
  body(p);
  return p.op("uu.").b;
}

std::string floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// A torch-layout archive: archive/data.pkl, archive/data/<key>..., archive/version.
std::string archive(const std::string& pickle,
                    const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  std::vector<std::pair<std::string, std::string>> e{{"archive/data.pkl", pickle}};
  for (const auto& [key, data] : storages) e.emplace_back("archive/data/" + key, data);
  e.emplace_back("archive/version", "3\n");
  return zip_stored(e);
}

std::map<std::string, Tensor> load_bytes(const std::string& bytes, const std::string& entry = "model",
                                         DType to = DType::F32) {
  TempFile f(bytes);
  return read_pth_state_dict(f.path(), entry, to);
}

// The message of the FormatError `fn` throws, after checking it contains every one of `parts`.
std::string expect_format_error(const std::function<void()>& fn, std::vector<std::string> parts) {
  try {
    fn();
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no FormatError";
  return "";
}

// Loads or fails with blt::Error; anything else (another exception type, a crash) fails the test.
void expect_loads_or_rejects(const std::string& bytes) {
  try {
    load_bytes(bytes);
  } catch (const Error&) {
  }
}

// --- expected.json ---
double expected_value(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  return NAN;
}

void expect_same(double got, double want, const std::string& where) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << where;
  } else {
    EXPECT_EQ(got, want) << where;
    EXPECT_EQ(std::signbit(got), std::signbit(want)) << where;
  }
}

// Every tensor of expected.json is in `sd` with its shape and exactly its values (rounded to float for F32).
void expect_matches_fixture(const std::map<std::string, Tensor>& sd, DType to) {
  const auto expected = nlohmann::json::parse(read_bytes(kDir + "expected.json"))["tensors"];
  EXPECT_EQ(sd.size(), expected.size());
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    auto it = sd.find(name);
    ASSERT_NE(it, sd.end());
    const Tensor& t = it->second;
    EXPECT_EQ(t.dtype(), to);
    const auto& shape = want["shape"];
    ASSERT_EQ(t.shape().rank(), static_cast<int>(shape.size()));
    for (int d = 0; d < t.shape().rank(); ++d) EXPECT_EQ(t.shape()[d], shape[d].get<int64_t>());
    const auto& values = want["values"];
    ASSERT_EQ(t.numel(), static_cast<int64_t>(values.size()));
    for (int64_t k = 0; k < t.numel(); ++k) {
      double v = expected_value(values[k]);
      if (to == DType::F32) v = static_cast<float>(v);  // f64 fixture values are within float range
      if (to == DType::BF16) v = round_bf16(static_cast<float>(v));  // through float32, as the reader does
      expect_same(t.at(k), v, name + "[" + std::to_string(k) + "]");
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading torch.save output

TEST(PthReader, FixtureEqualsExpectedAsFloat32) {
  expect_matches_fixture(read_pth_state_dict(kDir + "state_dict.pth"), DType::F32);
}

TEST(PthReader, FixtureEqualsExpectedAsFloat64) {
  expect_matches_fixture(read_pth_state_dict(kDir + "state_dict.pth", "model", DType::F64), DType::F64);
}

TEST(PthReader, FixtureEqualsExpectedAsBf16) {
  expect_matches_fixture(read_pth_state_dict(kDir + "state_dict.pth", "model", DType::BF16), DType::BF16);
}

TEST(PthReader, Protocol4TopLevelStateDictLoads) {
  // No "model" key: the top-level OrderedDict is itself the state dict (FRAME, MEMOIZE, STACK_GLOBAL...).
  expect_matches_fixture(read_pth_state_dict(kDir + "flat_state_dict.pth"), DType::F32);
  expect_matches_fixture(read_pth_state_dict(kDir + "flat_state_dict.pth", ""), DType::F32);
}

TEST(PthReader, SharedStorageViewsKeepTheirOffsets) {
  // wk and wv are base[1] and base[2] of one (3,4,4) storage: different values, same storage.
  auto sd = read_pth_state_dict(kDir + "state_dict.pth");
  const Tensor& wk = sd.at("layers.0.attention.wk.weight");
  const Tensor& wv = sd.at("layers.0.attention.wv.weight");
  EXPECT_NE(wk.at(0), wv.at(0));
}

TEST(PthReader, MissingEntryNamesTheKeys) {
  expect_format_error([] { read_pth_state_dict(kDir + "state_dict.pth", "weights"); },
                      {"state_dict.pth", "no entry 'weights'", "'model'", "'optim'"});
}

TEST(PthReader, EmptyEntryNeedsATopLevelTensorDict) {
  expect_format_error([] { read_pth_state_dict(kDir + "state_dict.pth", ""); },
                      {"state_dict.pth", "top-level dict", "'model'", "not a dict of tensors"});
}

TEST(PthReader, EntryThatIsNotADictOfTensors) {
  expect_format_error([] { read_pth_state_dict(kDir + "state_dict.pth", "step"); },
                      {"entry 'step' is a int"});
  expect_format_error([] { read_pth_state_dict(kDir + "state_dict.pth", "optim"); },
                      {"entry 'optim'", "'state' is a dict, not a tensor"});
}

TEST(PthReader, NonStringKeyRejected) {
  const std::string pkl = model_pickle([](Pickle& p) { p.i(7).tensor("0", 1, 0, {1}, {1}); });
  expect_format_error(
      [&] {
        load_bytes(archive(pkl, {{"0", floats({1})}}));
      },
      {"entry 'model': a key is a int"});
}

TEST(PthReader, MissingFileIsIoErrorNamingThePath) {
  try {
    read_pth_state_dict(kDir + "no_such_file.pth");
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_file.pth"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_pth_state_dict(kDir), IoError);  // a directory
}

TEST(PthReader, NonContiguousTensorNamed) {
  expect_format_error([] { read_pth_state_dict(kDir + "noncontiguous.pth"); },
                      {"noncontiguous.pth", "tensor 'w'", "not contiguous", "(3,2)"});
}

TEST(PthReader, IntegerTensorNamed) {
  expect_format_error([] { read_pth_state_dict(kDir + "int_tensor.pth"); }, {"tensor 'ids'", "LongStorage"});
}

TEST(PthReader, CompressedEntryNamed) {
  expect_format_error([] { read_pth_state_dict(kDir + "compressed.pth"); },
                      {"compressed.pth", "'compressed/data.pkl'", "compressed"});
}

TEST(PthReader, HandMadeCheckpointLoads) {
  // _rebuild_parameter, the 7-argument _rebuild_tensor_v2 of newer torch, a size-1 dim with any stride.
  const std::string pkl = model_pickle([](Pickle& p) {
    p.str("a").global("torch._utils", "_rebuild_parameter").op("(").tensor("0", 6, 0, {2, 3}, {3, 1});
    p.op("\x88").global("collections", "OrderedDict").op(")Rt").op("R");
    p.str("b")
        .global("torch._utils", "_rebuild_tensor_v2")
        .op("((")
        .str("storage")
        .global("torch", "FloatStorage");
    p.str("0").str("cpu").i(6).op("tQ").i(4).ints({1, 2}).ints({99, 1}).op("\x89");
    p.global("collections", "OrderedDict").op(")R").op("}t").op("R");
  });
  auto sd = load_bytes(archive(pkl, {{"0", floats({0, 1, 2, 3, 4, 5})}}));
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd.at("a").shape(), (Shape{2, 3}));
  EXPECT_EQ(sd.at("a").at(5), 5.0);
  EXPECT_EQ(sd.at("b").shape(), (Shape{1, 2}));
  EXPECT_EQ(sd.at("b").at(0), 4.0);
  EXPECT_EQ(sd.at("b").at(1), 5.0);
}

TEST(PthReader, Float64ToFloat32RoundsAndOverflowsToInf) {
  const std::vector<double> v = {0.1, -2.5, 1e300, -1e300};
  const std::string data(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  const std::string pkl =
      model_pickle([](Pickle& p) { p.str("w").tensor("0", 4, 0, {4}, {1}, "DoubleStorage"); });
  const std::string bytes = archive(pkl, {{"0", data}});
  const Tensor f = load_bytes(bytes).at("w");
  EXPECT_EQ(f.data<float>()[0], 0.1f);  // in range: round to nearest
  EXPECT_EQ(f.data<float>()[1], -2.5f);
  EXPECT_EQ(f.data<float>()[2], INFINITY);  // beyond float range: +-inf, as torch's .float()
  EXPECT_EQ(f.data<float>()[3], -INFINITY);
  const Tensor d = load_bytes(bytes, "model", DType::F64).at("w");
  for (size_t k = 0; k < v.size(); ++k) EXPECT_EQ(d.data<double>()[k], v[k]) << k;
}

// ---------------------------------------------------------------------------------------------------------
// Hostile pickles: rejected before anything runs, naming the global or opcode

TEST(PthHostile, GlobalOsSystemRejected) {
  expect_format_error([] { read_pth_state_dict(kDir + "hostile_global.pth"); },
                      {"hostile_global.pth", "global 'os.system' is not allowed"});
}

TEST(PthHostile, StackGlobalBuiltinsEvalRejected) {
  expect_format_error([] { read_pth_state_dict(kDir + "hostile_stack_global.pth"); },
                      {"hostile_stack_global.pth", "'builtins.eval'", "STACK_GLOBAL"});
}

TEST(PthHostile, InstOpcodeRejected) {
  expect_format_error([] { read_pth_state_dict(kDir + "hostile_opcode.pth"); },
                      {"hostile_opcode.pth", "opcode INST is not allowed"});
}

TEST(PthHostile, ForbiddenGlobalOutsideTheModelEntryRejected) {
  // A valid "model" next to an "optim" entry that would call posix.system: the whole file is refused.
  Pickle p;
  p.op("}(").str("model").op("}(").str("w").tensor("0", 1, 0, {1}, {1}).op("u");
  p.str("optim").global("posix", "system").str("echo pwned").op("\x85R").op("u.");
  expect_format_error([&] { load_bytes(archive(p.b, {{"0", floats({1})}})); }, {"'posix.system'"});
}

struct HostileCase {
  const char* what;
  std::string pickle;
  const char* expect;  // in the message
};

TEST(PthHostile, DisallowedOpcodesAndCallsAreNamed) {
  const std::vector<HostileCase> cases = {
      {"NEWOBJ", Pickle().global("collections", "OrderedDict").op(")\x81.").b, "opcode NEWOBJ"},
      {"OBJ", Pickle().op("(").global("collections", "OrderedDict").op("o.").b, "opcode OBJ"},
      {"EXT1", Pickle().op("\x82\x01.").b, "opcode EXT1"},
      {"PERSID", Pickle().op("P0\n.").b, "opcode PERSID"},
      {"GET", Pickle().op("}p0\ng0\n.").b, "opcode PUT"},
      {"BINBYTES", Pickle().op("C\x01x.").b, "opcode SHORT_BINBYTES"},
      {"NEWOBJ_EX", Pickle().op("\x92.").b, "opcode NEWOBJ_EX"},
      {"unknown", Pickle().op("\xff.").b, "unknown 0xff"},
      {"getattr", Pickle().global("__builtin__", "getattr").op(".").b, "'__builtin__.getattr'"},
      {"torch.load", Pickle().global("torch", "load").op(".").b, "'torch.load'"},
      {"storage call", Pickle().global("torch", "FloatStorage").op(")R.").b, "cannot be called"},
      {"call a str", Pickle().str("os").op(")R.").b, "calls a str"},
      {"OrderedDict args", Pickle().global("collections", "OrderedDict").op("]\x85R.").b,
       "without arguments"},
      {"BUILD on a list", Pickle().op("]}b.").b, "BUILD"},
      {"rebuild arity", Pickle().global("torch._utils", "_rebuild_tensor_v2").op(")R.").b,
       "6 or 7 arguments"},
      {"rebuild types", Pickle().global("torch._utils", "_rebuild_tensor_v2").op("(NNNNNNtR.").b,
       "argument 0"},
      {"bad persid", Pickle().str("storage").op("\x85Q.").b, "persistent id"},
  };
  for (const HostileCase& c : cases) {
    SCOPED_TRACE(c.what);
    expect_format_error([&] { load_bytes(archive(c.pickle)); }, {"archive/data.pkl", c.expect});
  }
}

TEST(PthHostile, MalformedStreamsAndLimits) {
  const std::vector<HostileCase> cases = {
      {"deep nesting", Pickle().op(std::string(1000, '(')).b, "nested deeper"},
      {"unset memo", Pickle().op("j\xff\xff\xff\xff.").b, "memo entry 4294967295 was never stored"},
      {"underflow", Pickle().op("s.").b, "stack underflow"},
      {"below MARK", Pickle().op("}(K\x01K\x02s.").b, "stack underflow"},
      {"odd SETITEMS", Pickle().op("}(K\x01u.").b, "odd number"},
      {"APPEND to dict",
       Pickle()
           .op("}K\x01"
               "a.")
           .b,
       "expected a list"},
      {"no MARK", Pickle().op("t.").b, "no MARK"},
      {"no STOP", Pickle().op("}").b, "without STOP"},
      {"long string", Pickle().op("X\xff\xff\xff\x7f").b, "announced"},
      {"huge BINUNICODE8", Pickle().op("\x8d\xff\xff\xff\xff\xff\xff\xff\xff").b, "announced"},
      {"huge frame", Pickle().op("\x95\xff\xff\xff\xff\xff\xff\xff\x7f").b, "frame"},
      {"LONG1 9 bytes", Pickle().op("\x8a\x09").op(std::string(9, '\x01')).b, "64 bits"},
      {"protocol 1", "\x80\x01}.", "protocol 1"},
      {"endless GLOBAL", Pickle().op("c").op(std::string(1000, 'a')).b, "longer than"},
      {"not a dict", Pickle().op("].").b, "holds a list, not a dict"},
      {"int key", Pickle().op("}K\x01").tensor("0", 1, 0, {1}, {1}).op("s.").b, "not a dict of tensors"},
  };
  for (const HostileCase& c : cases) {
    SCOPED_TRACE(c.what);
    expect_format_error([&] { load_bytes(archive(c.pickle, {{"0", floats({1})}}), ""); }, {c.expect});
  }
}

TEST(PthHostile, LongStackIsCapped) {
  // One memoized None pushed 2^20 + 1 times: refused once the stack cap is reached.
  std::string get = std::string("h") + '\0', pkl = Pickle().op("Nq").op(std::string(1, '\0')).b;
  for (size_t k = 0; k <= (size_t{1} << 20); ++k) pkl += get;
  expect_format_error([&] { load_bytes(archive(pkl)); }, {"stack deeper than"});
}

// ---------------------------------------------------------------------------------------------------------
// Truncated and corrupted files

TEST(PthCorrupt, TruncatedFixtureRejected) {
  expect_format_error([] { read_pth_state_dict(kDir + "truncated.pth"); },
                      {"truncated.pth", "truncated file?"});
}

TEST(PthCorrupt, EveryTruncationRejected) {
  const std::string full = read_bytes(kDir + "state_dict.pth");
  for (size_t cut = 0; cut < full.size(); cut += (cut + 97 < full.size() ? 97 : 1)) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    EXPECT_THROW(load_bytes(full.substr(0, cut)), Error);
  }
}

TEST(PthCorrupt, ByteFlipsNeverCrash) {
  const std::string full = read_bytes(kDir + "state_dict.pth");
  for (size_t k = 0; k < full.size(); ++k) {
    std::string bad = full;
    bad[k] = static_cast<char>(bad[k] ^ 0xff);
    SCOPED_TRACE("byte " + std::to_string(k));
    expect_loads_or_rejects(bad);
  }
}

TEST(PthCorrupt, PickleByteChangesNeverCrash) {
  // Every byte of data.pkl changed, re-zipped with a valid CRC so that the pickle machine sees it.
  io::ZipReader zip(kDir + "state_dict.pth");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const io::ZipEntry& e : zip.entries()) {
    auto b = zip.data(e);
    entries.emplace_back(e.name, std::string(reinterpret_cast<const char*>(b.data()), b.size()));
  }
  ASSERT_EQ(entries[0].first, "state_dict/data.pkl");
  const std::string pkl = entries[0].second;
  for (size_t k = 0; k < pkl.size(); ++k) {
    for (int delta : {1, 0x80}) {
      entries[0].second = pkl;
      entries[0].second[k] = static_cast<char>(pkl[k] + delta);
      SCOPED_TRACE("byte " + std::to_string(k) + " + " + std::to_string(delta));
      expect_loads_or_rejects(zip_stored(entries));
    }
  }
}

TEST(PthCorrupt, StorageSizeMismatchRejected) {
  expect_format_error([] { read_pth_state_dict(kDir + "bad_storage_size.pth"); },
                      {"bad_storage_size.pth", "storage '0'", "5 elements", "16 bytes"});
}

TEST(PthCorrupt, TensorOutsideItsStorageRejected) {
  expect_format_error([] { read_pth_state_dict(kDir + "bad_tensor_bounds.pth"); },
                      {"bad_tensor_bounds.pth", "tensor 'w'", "outside its storage '0' of 4 elements"});
}

TEST(PthCorrupt, HandMadeTensorBoundsRejected) {
  struct Case {
    const char* what;
    int32_t numel, offset;
    std::vector<int32_t> size, stride;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"offset past end", 4, 3, {2}, {1}, "outside its storage"},
      {"negative offset", 4, -1, {2}, {1}, "outside its storage"},
      {"huge offset", 4, 0x7fffffff, {1}, {1}, "outside its storage"},
      {"negative size", 4, 0, {-2}, {1}, "invalid shape"},
      {"overflowing size", 4, 0, {0x7fffffff, 0x7fffffff, 0x7fffffff}, {1, 1, 1}, "invalid shape"},
      // The zero comes first, so a running product never overflows; the rest still must fit int64.
      {"overflowing size after a zero",
       4,
       0,
       {0, 0x7fffffff, 0x7fffffff, 0x7fffffff},
       {1, 1, 1, 1},
       "invalid shape"},
      {"rank 5", 4, 0, {1, 1, 1, 1, 4}, {4, 4, 4, 4, 1}, "at most 4 dimensions"},
      {"stride rank", 4, 0, {2, 2}, {1}, "differ in rank"},
      {"transposed", 4, 0, {2, 2}, {1, 2}, "not contiguous"},
      {"storage numel", 5, 0, {4}, {1}, "does not match entry 'archive/data/0' of 16 bytes"},
      {"negative numel", -1, 0, {1}, {1}, "does not match"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string pkl =
        model_pickle([&](Pickle& p) { p.str("w").tensor("0", c.numel, c.offset, c.size, c.stride); });
    expect_format_error([&] { load_bytes(archive(pkl, {{"0", floats({1, 2, 3, 4})}})); }, {c.expect});
  }
}

TEST(PthCorrupt, StorageProblemsRejected) {
  const std::string data = floats({1, 2, 3, 4});
  // No archive/data/1 entry.
  std::string pkl = model_pickle([](Pickle& p) { p.str("w").tensor("1", 4, 0, {4}, {1}); });
  expect_format_error([&] { load_bytes(archive(pkl, {{"0", data}})); }, {"no entry 'archive/data/1'"});
  // One key read as two types.
  pkl = model_pickle([](Pickle& p) {
    p.str("a").tensor("0", 4, 0, {4}, {1});
    p.str("b").tensor("0", 8, 0, {8}, {1}, "HalfStorage");
  });
  expect_format_error([&] { load_bytes(archive(pkl, {{"0", data}})); }, {"already read with another type"});
  // Big-endian storages.
  pkl = model_pickle([](Pickle& p) { p.str("w").tensor("0", 4, 0, {4}, {1}); });
  auto entries = std::vector<std::pair<std::string, std::string>>{
      {"archive/data.pkl", pkl}, {"archive/byteorder", "big"}, {"archive/data/0", data}};
  expect_format_error([&] { load_bytes(zip_stored(entries)); }, {"not little-endian"});
  // No data.pkl at all.
  expect_format_error([&] { load_bytes(zip_stored({{"x/version", "3\n"}})); }, {"no '<archive>/data.pkl'"});
}

// ---------------------------------------------------------------------------------------------------------
// ZipReader

TEST(PthZip, ReadsTorchsZip64Layout) {
  io::ZipReader zip(kDir + "state_dict.pth");
  ASSERT_NE(zip.find("state_dict/data.pkl"), nullptr);
  const io::ZipEntry* version = zip.find("state_dict/version");
  ASSERT_NE(version, nullptr);
  auto v = zip.data(*version);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.data()), v.size()), "3\n");
  for (const io::ZipEntry& e : zip.entries()) {
    EXPECT_EQ(e.method, 0) << e.name;
    EXPECT_NO_THROW(zip.verify_crc(e)) << e.name;
  }
  EXPECT_EQ(zip.find("state_dict/nothing"), nullptr);
}

TEST(PthZip, Zip64ExtraFieldsGiveSizesAndOffsets) {
  const std::string pkl = model_pickle([](Pickle& p) { p.str("w").tensor("0", 2, 0, {2}, {1}); });
  const auto entries = std::vector<std::pair<std::string, std::string>>{{"archive/data.pkl", pkl},
                                                                        {"archive/data/0", floats({7, 8})}};
  auto sd = load_bytes(zip_stored(entries, /*zip64=*/true));
  ASSERT_EQ(sd.count("w"), 1u);
  EXPECT_EQ(sd.at("w").at(1), 8.0);
  // The same archive with its ZIP64 extra fields cut short.
  std::string bytes = zip_stored(entries, true);
  const size_t extra = bytes.find(std::string("\x01\x00\x18\x00", 4));
  ASSERT_NE(extra, std::string::npos);
  bytes[extra + 2] = 4;
  expect_format_error([&] { load_bytes(bytes); }, {"ZIP64 extra field is too short"});
}

TEST(PthZip, CrcMismatchRejected) {
  std::string bytes = read_bytes(kDir + "state_dict.pth");
  uint64_t offset = 0;
  {
    io::ZipReader zip(kDir + "state_dict.pth");
    offset = zip.find("state_dict/data/0")->data_offset;
  }
  bytes[offset] = static_cast<char>(bytes[offset] ^ 1);
  expect_format_error([&] { load_bytes(bytes); }, {"'state_dict/data/0'", "CRC"});
}

TEST(PthZip, Crc32KnownValue) {
  const std::string s = "123456789";
  EXPECT_EQ(io::crc32(std::as_bytes(std::span(s.data(), s.size()))), 0xcbf43926u);
}

}  // namespace
}  // namespace blt::test
