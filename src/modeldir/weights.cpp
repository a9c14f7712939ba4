// Choosing, loading and checking a directory's weight file.
#include "modeldir/weights.h"

#include <filesystem>

#include "io/pth.h"
#include "io/safetensors.h"
#include "nn/param_io.h"

namespace blt::modeldir {

namespace fs = std::filesystem;

WeightFile find_weights(const std::string& dir) {
  const fs::path d(dir);
  if (fs::exists(d / "model.safetensors")) return {(d / "model.safetensors").string(), false};
  if (fs::exists(d / "consolidated.pth")) return {(d / "consolidated.pth").string(), true};
  throw IoError(dir + ": no weights (expected model.safetensors or consolidated.pth)");
}

void load_weights(const nn::ParamRegistry& reg, const WeightFile& w, DType dtype) {
  if (w.pth)
    nn::load_params(reg, io::read_pth_state_dict(w.path, "model", dtype), w.path);
  else
    nn::load_params(reg, io::SafetensorsFile::open(w.path));
}

void check_weights(const nn::ParamRegistry& reg, const WeightFile& w) {
  if (w.pth)
    nn::load_params(reg, io::read_pth_state_dict(w.path), w.path);  // a .pth has no header to check alone
  else
    nn::check_params(reg, io::SafetensorsFile::open(w.path));
}

bool usable_as_stored(const io::SafetensorsInfo& e) {
  const bool is_float = e.dtype == "F32" || e.dtype == "F64" || e.dtype == "F16" || e.dtype == "BF16";
  return !is_float || e.shape.size() < 2 || e.dtype == "BF16";
}

bool matrices_bf16(const io::SafetensorsFile& file) {
  for (const std::string& name : file.names())
    if (!usable_as_stored(file.info(name))) return false;
  return true;
}

bool matrices_bf16(const WeightFile& w) {
  return !w.pth && matrices_bf16(io::SafetensorsFile::open(w.path));
}

}  // namespace blt::modeldir
