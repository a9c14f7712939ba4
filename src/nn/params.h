// ParamRegistry: every parameter of a model, named with the reference
// state_dict key (e.g. "layers.3.attention.wq.weight"), in one contiguous
// arena with gradients in a parallel arena of the same layout. Modules
// declare their parameters at construction; allocate() then lays them out;
// the optimizer, clipping, zeroing and checkpoint I/O each iterate one span.
// Mixed precision adds an optional bf16 mirror of the value arena in the same
// layout (the matmuls' weight copies), refreshed after every weight update and
// never saved: the float32 values stay the master weights. Inference can instead
// use bf16 weights as stored (allocate_as_stored): matrices and embedding tables
// are bf16 views into a mapped file (no copy), only the small 1-D parameters
// (norm weights) are converted into a float32 arena.
#pragma once

#include <memory>
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

  // The whole arenas, in the common layout (weights as stored: the float32 parameters only).
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
  // What a forward over these weights computes in (Graph::set_precision): BF16 with a mirror, or with weights
  // as stored on a CPU with a bf16 matrix engine; else F32 (weights as stored then widen to float32 as the
  // products read them: ops::linear).
  Precision precision() const;

  // Weights used as stored, for inference: instead of allocate(), on a non-trainable float32 registry (else
  // ConfigError). A parameter of rank >= 2 (matrix, embedding table) then holds bf16, one of rank 0 or 1 (norm
  // weights) float32 (as_stored_dtype). external[id], when defined, is parameter id's bf16 value (its shape) in
  // read-only memory that `owner` keeps alive for the registry's lifetime, e.g. a view into a mapped safetensors
  // file: used as is, never copied nor written. Every other parameter gets room, zero-filled, in a registry-owned
  // arena of its dtype (read it in after). values() is then the float32 arena alone; there is no mirror (the
  // matmuls read the bf16 values directly) and initialize() is refused.
  void allocate_as_stored(const std::vector<TensorView>& external, std::shared_ptr<const void> owner);
  bool as_stored() const { return as_stored_; }
  // BF16 for rank >= 2, else F32: what a parameter of this shape holds when used as stored.
  static DType as_stored_dtype(const Shape& s) { return s.rank() >= 2 ? DType::BF16 : DType::F32; }

 private:
  DType dtype_;
  bool trainable_;
  std::vector<ParamInfo> params_;
  std::unordered_map<std::string, ParamId> index_;
  int64_t numel_ = 0;
  Tensor values_, grads_;
  Tensor mirror_;  // (numel_) bf16 in the arenas' layout, or undefined
  // Weights as stored: every parameter's value, the bf16 arena of those not viewed elsewhere, and the owner
  // of the memory the others view.
  bool as_stored_ = false;
  std::vector<TensorView> stored_views_;
  Tensor stored_bf16_;
  std::shared_ptr<const void> stored_owner_;
};

}  // namespace blt::nn
