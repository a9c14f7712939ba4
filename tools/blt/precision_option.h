// --precision fp32|bf16|auto, shared by the training and inference commands:
// the option, its resolution against this CPU (bf16 needs a bf16 matrix
// engine; without one, a one-line notice and fp32), and putting a model into
// the resolved precision (bf16: its registry's bf16 weight mirror, which every
// graph over the model then runs at: nn/params.h). Inference at bf16 or auto
// uses BF16 weights as stored (bf16 views into the mapped file, no float32
// copy, no mirror) on every CPU: without a bf16 engine their products are
// float32 (the stored values widened as read). Weights stored in another dtype
// load as float32 (with the mirror at bf16); fp32 converts every weight.
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

// What an inference command runs at: its products' precision (resolve_precision; the notice then says the
// bf16 weights stay as stored) and whether BF16 weights are used as stored (every value but "fp32").
struct InferencePrecision {
  Precision products = Precision::F32;
  bool as_stored = false;
};
InferencePrecision resolve_inference_precision(const std::string& value);

// Runs `reg` at `p`: BF16 enables (and fills) its bf16 mirror unless its weights are used as stored (bf16
// already); F32 leaves it as it is.
void use_precision(nn::ParamRegistry& reg, Precision p);
// The BLT and its entropy model (when present); an entropy model. Before any decoder or patcher is built
// over them (a graph takes its precision from the registry when it is made).
void use_precision(modeldir::BltModel& m, Precision p);
void use_precision(modeldir::EntropyModel& m, Precision p);

// A model directory loaded to run at `p`: as_stored uses BF16 weights as stored (load_as_stored), else every
// weight converts to float32 (load); then use_precision(p.products) mirrors float32 weights at BF16.
modeldir::BltModel load_blt(const std::string& dir, InferencePrecision p);
modeldir::EntropyModel load_entropy_model(const std::string& dir, InferencePrecision p);

// How weights are held and multiplied, for `blt inspect`, eval's JSON and notices: "bf16 as stored
// (mmapped)", "bf16 as stored (mmapped), fp32 products", "float32 + bf16 mirror" or "float32".
std::string weight_storage(bool as_stored, Precision products);
std::string weight_storage(const nn::ParamRegistry& reg);

}  // namespace blt::cli
