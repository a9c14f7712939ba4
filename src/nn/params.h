// ParamRegistry: every parameter of a model, named with the reference
// state_dict key (e.g. "layers.3.attention.wq.weight"), in one contiguous
// arena with gradients in a parallel arena of the same layout. Modules
// declare their parameters at construction; allocate() then lays them out;
// the optimizer, clipping, zeroing and checkpoint I/O each iterate one span.
// Mixed precision adds an optional bf16 mirror of the value arena in the same
// layout (the matmuls' weight copies), refreshed after every weight update and
// never saved: the float32 values stay the master weights.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/graph.h"
#include "core/precision.h"
#include "core/rng.h"

namespace blt::nn {

// How a parameter is initialised: ones, zeros, or a normal truncated to [lo, hi].
struct Init {
  enum class Kind { Ones, Zeros, TruncNormal } kind = Kind::Zeros;
  double std = 0, lo = 0, hi = 0;

  static Init ones() { return {Kind::Ones}; }
  static Init zeros() { return {Kind::Zeros}; }
  // The reference's trunc_normal_(std=std, a=-bound, b=bound); bound defaults to 3·std.
  static Init trunc_normal(double std, std::optional<double> bound = std::nullopt) {
    const double b = bound.value_or(3 * std);
    return {Kind::TruncNormal, std, -b, b};
  }
};

struct ParamInfo {
  std::string name;
  Shape shape;
  int64_t offset = 0;  // elements from the start of the arena
  Init init;
};

using ParamId = int32_t;

class ParamRegistry {
 public:
  explicit ParamRegistry(DType dtype = DType::F32, bool trainable = true) : dtype_(dtype), trainable_(trainable) {}
  ParamRegistry(const ParamRegistry&) = delete;
  ParamRegistry& operator=(const ParamRegistry&) = delete;

  // Declares a parameter; names must be unique. Only before allocate(). ShapeError naming the
  // parameter if the total element count (or its size in bytes) would overflow int64.
  ParamId declare(const std::string& name, Shape shape, Init init);
  // Lays out values (and gradients when trainable), zero-filled.
  void allocate();
  // Draws every parameter in declaration order from rng.
  void initialize(Rng& rng);

  DType dtype() const { return dtype_; }
  bool trainable() const { return trainable_; }
  int64_t numel() const { return numel_; }
  const std::vector<ParamInfo>& params() const { return params_; }
  std::optional<ParamId> find(const std::string& name) const;

  TensorView value(ParamId id) const;
  TensorView grad(ParamId id) const;  // undefined when not trainable
  Var var(ParamId id) const { return Var{value(id), grad(id)}; }

  // The whole arenas, in the common layout.
  TensorView values() const { return values_.view(); }
  TensorView grads() const { return grads_.view(); }
  void zero_grad() const { grads_.view().zero(); }

  // The bf16 mirror (mixed precision: core/precision.h). enable_bf16_mirror() allocates it once (after
  // allocate(); float32 registries only, else ConfigError) and fills it; refresh_bf16_mirror() converts the
  // whole value arena into it in one pass (blas::to_bf16), after each change of the values; without a mirror
  // it does nothing.
  void enable_bf16_mirror();
  void refresh_bf16_mirror() const;
  bool has_bf16_mirror() const { return mirror_.defined(); }
  // The parameter's bf16 copy (its shape), undefined without a mirror.
  TensorView bf16_value(ParamId id) const;
  // What a forward over these weights computes in: BF16 with a mirror, else F32 (Graph::set_precision).
  Precision precision() const { return has_bf16_mirror() ? Precision::BF16 : Precision::F32; }

 private:
  DType dtype_;
  bool trainable_;
  std::vector<ParamInfo> params_;
  std::unordered_map<std::string, ParamId> index_;
  int64_t numel_ = 0;
  Tensor values_, grads_;
  Tensor mirror_;  // (numel_) bf16 in the arenas' layout, or undefined
};

}  // namespace blt::nn
