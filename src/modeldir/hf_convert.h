// Converting BLT model directories between the official release layout and the transformers layout
// (model_type "blt"; see hf_config.h and hf_weights.h), and reading an HF directory's patcher as an
// entropy model. Tensors are copied as stored (BF16 stays BF16, byte for byte; the hash tables are
// fused or split by their byte ranges); an official entropy model in consolidated.pth keeps its
// tensors' dtype and bytes too (written as safetensors).
#pragma once

#include <string>

#include "io/safetensors.h"
#include "modeldir/entropy_model.h"

namespace blt::modeldir {

enum class Layout { Official, Hf };

// The layout of dir's config.json (IoError when it is missing).
Layout detect_layout(const std::string& dir);

// Converts the BLT directory `src` (either layout) into `dst` in layout `to`. src is validated in full
// first (configuration, every tensor's name, shape and dtype); dst must not exist or be empty unless
// `force` (then it is replaced). Everything is written into a temporary folder next to dst
// (.<name>.tmp-<pid>), renamed to dst when complete; on an error the folder is removed and dst is
// untouched. A killed conversion leaves only that folder, which the next conversion to dst removes.
// Errors name the file or field.
void convert_model_dir(const std::string& src, const std::string& dst, Layout to, bool force);

// The patcher of an HF directory (config.json's patcher_config, the model.patcher.* tensors) as an
// entropy model with the config's patcher settings. ConfigError when the config has no patcher.
// as_stored: when the file's matrices are all BF16, they are used as stored (map_hf_weights; inference).
EntropyModel load_hf_patcher(const std::string& dir, DType dtype = DType::F32, bool trainable = false,
                             bool as_stored = false);
// The same from the opened model.safetensors, with the patcher's configuration and settings.
EntropyModel load_hf_patcher(const io::SafetensorsFile& file, const lm::LMTransformerArgs& args,
                             const patching::PatcherArgs& patcher, DType dtype, bool trainable, bool as_stored);

}  // namespace blt::modeldir
