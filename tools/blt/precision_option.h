// --precision fp32|bf16|auto, shared by the training and inference commands:
// the option, its resolution against this CPU (bf16 needs a bf16 matrix
// engine; without one, a one-line notice and fp32), and putting a model into
// the resolved precision (bf16: its registry's bf16 weight mirror, which every
// graph over the model then runs at: nn/params.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/precision.h"
#include "modeldir/blt_model.h"

namespace blt::cli {

// Adds --precision to `cmd`, stored in `value` (default "fp32"); any other value than fp32, bf16 and auto is
// CLI11's error naming --precision.
CLI::Option* add_precision_option(CLI::App& cmd, std::string& value);

// "fp32" -> F32; "bf16" -> BF16, or F32 after the notice on stderr when the CPU has no bf16 matmuls;
// "auto" -> BF16 when the CPU has them, else F32 (silently). ConfigError for anything else.
Precision resolve_precision(const std::string& value);

// Runs `reg` at `p`: BF16 enables (and fills) its bf16 mirror; F32 leaves it as it is.
void use_precision(nn::ParamRegistry& reg, Precision p);
// The BLT and its entropy model (when present); an entropy model. Before any decoder or patcher is built
// over them (a graph takes its precision from the registry when it is made).
void use_precision(modeldir::BltModel& m, Precision p);
void use_precision(modeldir::EntropyModel& m, Precision p);

}  // namespace blt::cli
