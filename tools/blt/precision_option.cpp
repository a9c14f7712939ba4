// The --precision option and its resolution.
#include "tools/blt/precision_option.h"

#include <iostream>

#include "blas/gemm_bf16.h"

namespace blt::cli {

CLI::Option* add_precision_option(CLI::App& cmd, std::string& value) {
  return cmd
      .add_option(
          "--precision", value,
          "Matmul precision: fp32, bf16 (bf16 inputs, float32 accumulation; float32 weights kept) or "
          "auto (bf16 where the CPU has a bf16 matrix engine). Inference uses weights stored in bf16 as "
          "stored (mmapped) except at fp32; without the engine their products are fp32")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}))
      ->capture_default_str();
}

namespace {

// F32 or BF16 as `value` asks and the CPU allows; `fallback` ends the notice for bf16 without an engine.
Precision resolve(const std::string& value, const char* fallback) {
  if (value == "fp32") return Precision::F32;
  if (value != "bf16" && value != "auto")
    throw ConfigError("--precision: '" + value + "' is not one of fp32, bf16, auto");
  if (blas::has_bf16_matmul()) return Precision::BF16;
  if (value == "bf16")
    std::cerr << "--precision bf16: this CPU has no bf16 matrix engine (AMX/AVX512-BF16); using fp32"
              << fallback << "\n";
  return Precision::F32;
}

}  // namespace

Precision resolve_precision(const std::string& value) {
  return resolve(value, "");
}

InferencePrecision resolve_inference_precision(const std::string& value) {
  const Precision p = resolve(value, " products (bf16 weights used as stored)");
  return {p, value != "fp32"};
}

void use_precision(nn::ParamRegistry& reg, Precision p) {
  if (p == Precision::BF16 && !reg.as_stored()) reg.enable_bf16_mirror();
}

void use_precision(modeldir::EntropyModel& m, Precision p) { use_precision(*m.params, p); }

void use_precision(modeldir::BltModel& m, Precision p) {
  use_precision(*m.params, p);
  if (m.entropy) use_precision(*m.entropy, p);
}

modeldir::BltModel load_blt(const std::string& dir, InferencePrecision p) {
  modeldir::BltModel m =
      p.as_stored ? modeldir::BltModel::load_as_stored(dir) : modeldir::BltModel::load(dir);
  use_precision(m, p.products);
  return m;
}

modeldir::EntropyModel load_entropy_model(const std::string& dir, InferencePrecision p) {
  modeldir::EntropyModel m =
      p.as_stored ? modeldir::EntropyModel::load_as_stored(dir) : modeldir::EntropyModel::load(dir);
  use_precision(m, p.products);
  return m;
}

std::string weight_storage(bool as_stored, Precision products) {
  if (as_stored)
    return products == Precision::BF16 ? "bf16 as stored (mmapped)"
                                       : "bf16 as stored (mmapped), fp32 products";
  return products == Precision::BF16 ? "float32 + bf16 mirror" : "float32";
}

std::string weight_storage(const nn::ParamRegistry& reg) {
  return weight_storage(reg.as_stored(), reg.precision());
}

}  // namespace blt::cli
