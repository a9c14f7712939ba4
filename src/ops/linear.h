// Linear layer without bias: y = x Wᵀ, with W stored (out, in) as in PyTorch.
// Forward and backward are three GEMMs: float32/float64 through blas::gemm, and
// in mixed precision (Graph precision BF16, core/precision.h) bf16 inputs with
// float32 accumulation through blas::gemm_bf16. Weights used as stored (bf16) in
// a float32 graph take float32 products forward (blas::gemm_f32_bf16).
#pragma once

#include "core/bf16.h"
#include "core/graph.h"

namespace blt::ops {

// x (N,in), w (out,in) -> y (N,out)
template <class T>
void linear_forward(const T* x, const T* w, T* y, int64_t N, int64_t in, int64_t out);

// dx (N,in) and dw (out,in) accumulated (+=), dx overwritten instead when overwrite_dx; either may be null.
template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, int64_t N, int64_t in, int64_t out,
                     bool overwrite_dx = false);

// The same in mixed precision: x (N,in), w (out,in) in bf16 -> y (N,out) float32.
void linear_forward_bf16(const bf16* x, const bf16* w, float* y, int64_t N, int64_t in, int64_t out);
// dy (N,out) in bf16; dx (N,in) and dw (out,in) float32, as above.
void linear_backward_bf16(const bf16* x, const bf16* w, const bf16* dy, float* dx, float* dw, int64_t N,
                          int64_t in, int64_t out, bool overwrite_dx = false);

// x (..,in), w (out,in) -> (..,out). FLOPs: 2·N·in·out forward, twice that backward.
// When g.precision() is BF16, x is float32 and the CPU has bf16 matmuls (blas::has_bf16_matmul), the
// products take bf16 inputs: x rounded to bf16 (saved for backward), w as w_bf16 (its bf16 copy, shape
// (out,in), e.g. ParamRegistry::bf16_value) or, when undefined, w rounded here; backward rounds dy to bf16.
// Otherwise (float64 graphs included) w_bf16 is ignored and the float path runs.
// A bf16 w (weights used as stored: nn::ParamRegistry::allocate_as_stored) needs a float32 x and takes no
// gradient (else ShapeError). Where the products run in bf16 (above) it is their bf16 operand directly;
// otherwise (a float32 graph, or no bf16 matrix engine) they are float32 products of x with w's values
// widened as read, forward only: x takes no gradient either (else ShapeError).
// x_bf16, when defined, is x already rounded to bf16 (bf16_input, or bf16_input_buffer filled by the op that
// made x): linears that read one x (q, k and v; w1 and w3) share one rounding, and x's float32 value is not
// read (ops::rmsnorm and ops::swiglu leave it unwritten when they fill that buffer; bf16_input_buffer gives
// room only where the bf16 path runs). The float path ignores x_bf16.
Var linear(Graph& g, const Var& x, const Var& w, const TensorView& w_bf16 = {},
           const TensorView& x_bf16 = {});

// x (..,in) rounded to bf16 in g's arena when a linear(g, x, w) would round it (the bf16 path above), else
// an empty view.
TensorView bf16_input(Graph& g, const Var& x);

// Room in g's arena (shape s, bf16, not filled) for the bf16 rounding of an x (s, x_dtype) that the op
// making x writes as it goes (ops::rmsnorm, ops::swiglu), when a linear(g, x, w) would round such an x;
// else an empty view.
TensorView bf16_input_buffer(Graph& g, const Shape& s, DType x_dtype);

}  // namespace blt::ops
