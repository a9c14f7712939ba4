// --precision fp32|bf16|auto, shared by the training and inference commands:
// the option, its resolution against this CPU (bf16 needs a bf16 matrix
// engine; without one, a one-line notice and fp32), and putting a model into
// the resolved precision (bf16: its registry's bf16 weight mirror, which every
// graph over the model then runs at: nn/params.h). Loading at bf16 uses BF16
// weights as stored (bf16 views into the mapped file, no float32 copy, no
// mirror); weights stored in another dtype load as float32 and get the mirror.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/precision.h"
#include "modeldir/blt_model.h"

namespace blt::cli {

// What --precision is when not given: bf16 where the CPU has a bf16 matrix engine, else fp32. `--precision
// fp32` reproduces the reference bit for bit (the oracle tests run it).
inline constexpr const char* kDefaultPrecision = "auto";

// Adds --precision to `cmd`, stored in `value` (its default shown); any other value than fp32, bf16 and auto is
// CLI11's error naming --precision.
CLI::Option* add_precision_option(CLI::App& cmd, std::string& value);

// "fp32" -> F32; "bf16" -> BF16, or F32 after the notice on stderr when the CPU has no bf16 matmuls;
// "auto" -> BF16 when the CPU has them, else F32 (silently). ConfigError for anything else.
Precision resolve_precision(const std::string& value);

// Runs `reg` at `p`: BF16 enables (and fills) its bf16 mirror unless its weights are used as stored (bf16
// already); F32 leaves it as it is.
void use_precision(nn::ParamRegistry& reg, Precision p);
// The BLT and its entropy model (when present); an entropy model. Before any decoder or patcher is built
// over them (a graph takes its precision from the registry when it is made).
void use_precision(modeldir::BltModel& m, Precision p);
void use_precision(modeldir::EntropyModel& m, Precision p);

// A model directory loaded to run at `p`: BF16 uses BF16 weights as stored (load_as_stored) and mirrors any
// float32 ones (use_precision); F32 converts every weight to float32 (load).
modeldir::BltModel load_blt(const std::string& dir, Precision p);
modeldir::EntropyModel load_entropy_model(const std::string& dir, Precision p);

// How a registry holds its weights, for `blt inspect` and notices: "bf16 as stored (mmapped)",
// "float32 + bf16 mirror" or "float32".
std::string weight_storage(const nn::ParamRegistry& reg);

}  // namespace blt::cli
