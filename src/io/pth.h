// read_pth_state_dict: the tensors of a PyTorch checkpoint written by torch.save
// (the zip format of torch >= 1.6), e.g. the official BLT entropy_model/consolidated.pth.
// Loading never executes code: data.pkl is decoded by a restricted pickle machine
// that knows only the opcodes torch.save emits for containers and tensors and an
// allow-list of globals (torch._utils._rebuild_tensor_v2/_rebuild_parameter, the typed
// storages torch.FloatStorage..., collections.OrderedDict). Anything else is a
// FormatError naming the file and the opcode or `module.name`.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace blt::io {

// Reads the state dict of a torch.save zip checkpoint: the top-level object must be a dict of tensors,
// or a dict whose `entry` key (default "model") holds one; an empty `entry` takes the top-level dict.
// Tensors F32/F64/BF16/F16 are converted to `to`; they must be contiguous and have rank <= 4.
// IoError if the file cannot be read, FormatError (naming file and tensor/opcode/global) for bad content.
std::map<std::string, Tensor> read_pth_state_dict(const std::string& path, const std::string& entry = "model",
                                                  DType to = DType::F32);

// A tensor as torch.save stored it: the safetensors name of its dtype ("F32", "F64", "F16", "BF16"),
// its shape (e.g. {260, 32}) and its row-major little-endian bytes.
struct PthRawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<std::byte> bytes;
};

// The same state dict with the same checks, every tensor's bytes as stored (no conversion).
std::map<std::string, PthRawTensor> read_pth_state_dict_raw(const std::string& path,
                                                            const std::string& entry = "model");

}  // namespace blt::io
