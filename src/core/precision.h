// Precision: what the matrix products of a forward/backward compute in.
//   F32  : float32 everywhere (the exact path the oracle tests check).
//   BF16 : mixed precision: matmul inputs (weights, activations) rounded to bf16, products
//          accumulated in float32; norms, softmax, RoPE, losses and reductions stay float32;
//          master weights, gradients and optimizer state stay float32.
// A Graph carries the precision its ops run at (Graph::precision()).
#pragma once

namespace blt {

enum class Precision { F32, BF16 };

constexpr const char* precision_name(Precision p) { return p == Precision::F32 ? "fp32" : "bf16"; }

}  // namespace blt
