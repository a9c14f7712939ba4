// read_pth_state_dict: finds data.pkl in the torch.save zip, unpickles it with the
// restricted machine (io/pickle_machine.h, io/pth_tensors.h), picks the state dict
// (the top-level dict or its `entry` key) and only then checks and copies out its
// tensors, so nothing is converted for objects that are not read.
#include "io/pth.h"

#include <span>
#include <string_view>
#include <unordered_set>

#include "core/error.h"
#include "io/pickle_machine.h"
#include "io/pth_tensors.h"
#include "io/zip_reader.h"

namespace blt::io {

namespace {

using pickle::Kind;
using pickle::kind_name;
using pickle::printable;
using pickle::Value;

// torch.save puts every record under one top-level folder, named after the file: <archive>/data.pkl.
const ZipEntry& find_data_pkl(const ZipReader& zip) {
  const ZipEntry* pkl = nullptr;
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash == 0 || slash == std::string::npos ||
        e.name.compare(slash, std::string::npos, "/data.pkl") != 0)
      continue;
    if (pkl)
      throw FormatError(zip.path() + ": two pickles, '" + pkl->name + "' and '" + printable(e.name) + "'");
    pkl = &e;
  }
  if (!pkl)
    throw FormatError(zip.path() +
                      ": no '<archive>/data.pkl' entry: not a torch.save zip checkpoint "
                      "(the legacy pre-1.6 format is not supported)");
  return *pkl;
}

// FormatError unless `<prefix>/byteorder` is absent or says "little".
void check_byteorder(const ZipReader& zip, const std::string& prefix) {
  const ZipEntry* order = zip.find(prefix + "/byteorder");
  if (!order) return;
  std::span<const std::byte> b = zip.data(*order);
  if (std::string_view(reinterpret_cast<const char*>(b.data()), b.size()) != "little")
    throw FormatError(zip.path() + ": storages are not little-endian ('" + printable(order->name) + "')");
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

// The first 8 keys of a dict, quoted, for messages.
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

// The state dict in `root`: its `entry` key if that holds a dict, else `root` itself if it is a dict of
// tensors. FormatError (naming `path`, the entry and the top-level keys) otherwise.
const Value& pick_state_dict(const std::string& path, const Value& root, const std::string& entry) {
  if (root.kind != Kind::Dict)
    throw FormatError(path + ": the checkpoint holds a " + std::string(kind_name(root.kind)) +
                      ", not a dict");
  const Value* picked = entry.empty() ? nullptr : lookup(root, entry);
  if (picked && picked->kind == Kind::Dict) return *picked;
  if (is_tensor_dict(root)) return root;
  if (picked)
    throw FormatError(path + ": entry '" + entry + "' is a " + std::string(kind_name(picked->kind)) +
                      ", not a dict of tensors");
  if (entry.empty())
    throw FormatError(path + ": the top-level dict (keys: " + key_list(root) + ") is not a dict of tensors");
  throw FormatError(path + ": no entry '" + entry + "' in the top-level dict (keys: " + key_list(root) +
                    "), and that dict is not a dict of tensors itself");
}

}  // namespace

namespace {
// Opens the checkpoint, picks the state dict and calls read(zip, key, tensor, crc_checked) for every entry.
template <class Read>
void read_state_dict(const std::string& path, const std::string& entry, Read read) {
  ZipReader zip(path);
  const ZipEntry& pkl = find_data_pkl(zip);
  const std::string prefix = pkl.name.substr(0, pkl.name.find('/'));
  check_byteorder(zip, prefix);
  zip.verify_crc(pkl);

  pickle::TorchUnpickler unpickler(zip, prefix, pkl);
  const Value& root = *unpickler.load();
  const Value& sd = pick_state_dict(path, root, entry);

  const std::string where = &sd == &root ? path : path + ": entry '" + entry + "'";
  std::unordered_set<const ZipEntry*> crc_checked;
  for (const auto& [k, v] : sd.dict) {
    if (k->kind != Kind::String)
      throw FormatError(where + ": a key is a " + std::string(kind_name(k->kind)) + ", not a string");
    if (v->kind != Kind::Tensor)
      throw FormatError(where + ": '" + printable(k->s) + "' is a " + std::string(kind_name(v->kind)) +
                        ", not a tensor");
    read(zip, k->s, *v, crc_checked);
  }
}
}  // namespace

std::map<std::string, Tensor> read_pth_state_dict(const std::string& path, const std::string& entry,
                                                  DType to) {
  std::map<std::string, Tensor> out;
  read_state_dict(path, entry, [&](const ZipReader& zip, const std::string& key, const Value& t, auto& crc) {
    out.insert_or_assign(key, pickle::read_tensor(zip, key, t, to, crc));
  });
  return out;
}

std::map<std::string, PthRawTensor> read_pth_state_dict_raw(const std::string& path,
                                                            const std::string& entry) {
  std::map<std::string, PthRawTensor> out;
  read_state_dict(path, entry, [&](const ZipReader& zip, const std::string& key, const Value& t, auto& crc) {
    PthRawTensor r;
    r.bytes = pickle::read_tensor_bytes(zip, key, t, crc, &r.dtype);
    r.shape = t.size;
    out.insert_or_assign(key, std::move(r));
  });
  return out;
}

}  // namespace blt::io
