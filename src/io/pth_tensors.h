// Internal to the .pth reader: what torch adds to the pickle machine (persistent ids
// naming storages in the archive, _rebuild_tensor_v2/_rebuild_parameter) and the
// conversion of a recorded tensor into a Tensor. Tensors are only recorded while
// unpickling (storage, offset, sizes, strides); they are checked (float storage,
// rank, contiguity, bounds, CRC) and copied out when the chosen state dict is read.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "io/pickle_machine.h"
#include "io/zip_reader.h"

namespace blt::io::pickle {

// Unpickles `<prefix>/data.pkl` of a torch.save archive; storages resolve to `<prefix>/data/<key>`.
// The objects load() returns live as long as the unpickler.
class TorchUnpickler final : public PickleMachine {
 public:
  TorchUnpickler(const ZipReader& zip, std::string prefix, const ZipEntry& pkl);

 private:
  Value* persistent_load(Value* pid) override;
  Value* rebuild(Value* fn, const std::vector<Value*>& a) override;

  const ZipReader& zip_;
  std::string prefix_;                                // the archive's top-level folder
  std::unordered_map<std::string, Value*> storages_;  // by key: shared storages are read once
};

// Checks a recorded tensor `t` (named `name` in messages) against its storage and copies it out as `to`
// (F32, F64 or BF16). Float64 storages read as F32 round to nearest; values beyond float range become
// +-inf, as torch's .float() does (io::f64_to_f32), never a FormatError. As BF16, every value rounds to
// nearest even from its float32 (a bfloat16 storage keeps its values; a NaN becomes quiet).
// `crc_checked` holds the storage entries already verified (storages are shared between tensors).
Tensor read_tensor(const ZipReader& zip, const std::string& name, const Value& t, DType to,
                   std::unordered_set<const ZipEntry*>& crc_checked);

// The same checks, then the tensor's bytes as stored and its dtype's safetensors name ("BF16", ...).
std::vector<std::byte> read_tensor_bytes(const ZipReader& zip, const std::string& name, const Value& t,
                                         std::unordered_set<const ZipEntry*>& crc_checked,
                                         std::string* dtype);

}  // namespace blt::io::pickle
