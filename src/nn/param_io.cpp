// Registry <-> safetensors / state dict, with a complete mismatch report.
#include "nn/param_io.h"

#include <cstdint>
#include <set>

namespace blt::nn {

namespace {
// Lists what does not match: names the registry expects vs what the source has.
template <class ShapeOf>
void check_keys(const ParamRegistry& reg, const std::set<std::string>& available, const std::string& prefix,
                ShapeOf shape_of, const std::string& where) {
  std::string missing, wrong;
  std::set<std::string> used;
  int n_missing = 0, n_wrong = 0;
  for (const ParamInfo& p : reg.params()) {
    const std::string key = prefix + p.name;
    if (!available.count(key)) {
      missing += "\n  missing: " + key + " " + p.shape.str();
      ++n_missing;
      continue;
    }
    used.insert(key);
    const std::string found = shape_of(key);
    if (found != p.shape.str()) {
      wrong += "\n  wrong shape: " + key + " expected " + p.shape.str() + ", found " + found;
      ++n_wrong;
    }
  }
  std::string unexpected;
  int n_unexpected = 0;
  for (const std::string& k : available)
    if (!used.count(k) && k.rfind(prefix, 0) == 0) {
      unexpected += "\n  unexpected: " + k + " " + shape_of(k);
      ++n_unexpected;
    }
  if (n_missing || n_wrong || n_unexpected)
    throw FormatError(where + ": weights do not match the model configuration (" + std::to_string(n_missing) +
                      " missing, " + std::to_string(n_unexpected) + " unexpected, " + std::to_string(n_wrong) +
                      " wrongly shaped)" + missing + wrong + unexpected);
}

// Weights used as stored may view read-only mapped memory: loaders fill allocate()d registries only.
void check_writable(const ParamRegistry& reg, const std::string& where) {
  if (reg.as_stored()) throw InternalError(where + ": weights used as stored are read-only (map_params loads them)");
}

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + ")";
}
}  // namespace

void save_params(const ParamRegistry& reg, const std::string& path, const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, TensorView>> tensors;
  for (size_t i = 0; i < reg.params().size(); ++i)
    tensors.emplace_back(reg.params()[i].name, reg.value(static_cast<ParamId>(i)));
  io::write_safetensors(path, tensors, metadata);
}

void check_params(const ParamRegistry& reg, const io::SafetensorsFile& file, const std::string& prefix) {
  std::set<std::string> available(file.names().begin(), file.names().end());
  check_keys(reg, available, prefix, [&](const std::string& k) { return dims_str(file.info(k).shape); }, file.path());
}

void load_params(const ParamRegistry& reg, const io::SafetensorsFile& file, const std::string& prefix) {
  check_writable(reg, file.path());
  check_params(reg, file, prefix);
  for (size_t i = 0; i < reg.params().size(); ++i)
    file.read_into(prefix + reg.params()[i].name, reg.value(static_cast<ParamId>(i)));
}

TensorView stored_view(const ParamInfo& p, const std::string& dtype, std::span<const std::byte> bytes) {
  if (ParamRegistry::as_stored_dtype(p.shape) != DType::BF16 || dtype != "BF16") return {};
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(bf16) != 0) return {};  // copied instead
  BLT_ASSERT(bytes.size() == static_cast<size_t>(p.shape.numel()) * sizeof(bf16), p.name + ": stored size");
  // The mapping is read-only and the registry never writes a viewed value.
  return TensorView(const_cast<std::byte*>(bytes.data()), p.shape, DType::BF16);
}

void map_params(ParamRegistry& reg, const io::SafetensorsFile& file, const std::string& prefix) {
  check_params(reg, file, prefix);
  std::vector<TensorView> views;
  for (const ParamInfo& p : reg.params()) {
    const std::string key = prefix + p.name;
    views.push_back(stored_view(p, file.info(key).dtype, file.bytes(key)));
  }
  reg.allocate_as_stored(views, file.mapping());
  for (size_t i = 0; i < views.size(); ++i)
    if (!views[i].defined()) file.read_into(prefix + reg.params()[i].name, reg.value(static_cast<ParamId>(i)));
}

void load_params(const ParamRegistry& reg, const std::map<std::string, Tensor>& tensors, const std::string& where) {
  check_writable(reg, where);
  std::set<std::string> available;
  for (const auto& [k, v] : tensors) available.insert(k);
  check_keys(reg, available, "", [&](const std::string& k) { return tensors.at(k).shape().str(); }, where);
  for (size_t i = 0; i < reg.params().size(); ++i) {
    const Tensor& src = tensors.at(reg.params()[i].name);
    const TensorView dst = reg.value(static_cast<ParamId>(i));
    if (src.dtype() == dst.dtype()) {  // read in the registry's dtype (bf16 included): copied as is
      dst.copy_from(src.view());
      continue;
    }
    dispatch_storage(dst.dtype(), [&]<class T>() {  // widened to double, stored as T (bf16: via float32)
      T* d = dst.data<T>();
      for (int64_t j = 0; j < dst.numel(); ++j) {
        if constexpr (std::is_same_v<T, bf16>)
          d[j] = to_bf16(static_cast<float>(src.at(j)));
        else
          d[j] = static_cast<T>(src.at(j));
      }
    });
  }
}

}  // namespace blt::nn
