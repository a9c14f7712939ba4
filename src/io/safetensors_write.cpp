// Safetensors writing: a header listing every tensor in the given order, padded with spaces so
// the data section starts 8-byte aligned, then the tensors' bytes, all through one AtomicFile.
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "io/safetensors.h"

namespace blt::io {

namespace {
[[noreturn]] void cannot_write(const std::string& path, const std::string& name, const std::string& why) {
  throw FormatError(path + ": tensor '" + name + "': cannot write: " + why);
}

// The byte count of t's pieces, checked against its shape and dtype.
uint64_t checked_size(const std::string& path, const RawTensor& t) {
  const size_t elem = safetensors_dtype_size(t.dtype);
  if (elem == 0) cannot_write(path, t.name, "unknown dtype '" + t.dtype + "'");
  uint64_t numel = 1;
  for (int64_t d : t.shape) {
    if (d < 0 || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
      cannot_write(path, t.name, "invalid shape");
  }
  uint64_t bytes = 0;
  for (const auto& p : t.pieces) bytes += p.size();
  if (bytes != numel * elem)
    cannot_write(
        path, t.name,
        std::to_string(bytes) + " bytes of data for " + std::to_string(numel) + " " + t.dtype + " elements");
  return bytes;
}
}  // namespace

void write_safetensors_raw(const std::string& path, const std::vector<RawTensor>& tensors,
                           const std::map<std::string, std::string>& metadata) {
  using ojson = nlohmann::ordered_json;
  ojson header = ojson::object();
  if (!metadata.empty()) {
    ojson& m = header["__metadata__"] = ojson::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const RawTensor& t : tensors) {
    if (t.name == "__metadata__") cannot_write(path, t.name, "the name is reserved for metadata");
    if (!seen.insert(t.name).second) cannot_write(path, t.name, "duplicate tensor name");
    const uint64_t end = offset + checked_size(path, t);
    ojson entry = ojson::object();
    entry["dtype"] = t.dtype;
    entry["shape"] = t.shape;
    entry["data_offsets"] = ojson::array({offset, end});
    header[t.name] = std::move(entry);
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // e.g. a name that is not valid UTF-8
    throw FormatError(path + ": cannot write safetensors header: " + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // data section starts 8-byte aligned
  const uint64_t n = text.size();

  AtomicFile out(path);
  out.write(&n, sizeof n);  // little-endian host (static_assert in safetensors.cpp)
  out.write(text);
  for (const RawTensor& t : tensors)
    for (const auto& p : t.pieces)
      if (!p.empty()) out.write(p.data(), p.size());
  out.commit();
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, TensorView>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<RawTensor> raw;
  raw.reserve(tensors.size());
  for (const auto& [name, view] : tensors) {
    if (!view.defined() && view.numel() > 0) cannot_write(path, name, "the view has no memory");
    RawTensor t{name, safetensors_dtype(view.dtype()), {}, {}};
    for (int i = 0; i < view.shape().rank(); ++i) t.shape.push_back(view.shape()[i]);
    if (view.nbytes() > 0) t.pieces.emplace_back(static_cast<const std::byte*>(view.raw()), view.nbytes());
    raw.push_back(std::move(t));
  }
  write_safetensors_raw(path, raw, metadata);
}

}  // namespace blt::io
