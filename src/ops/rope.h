// Rotary position embedding with the reference convention: adjacent pairs
// (x[2i], x[2i+1]) rotated by [[cos,-sin],[sin,cos]] at angle pos·freq_i,
// freq_i = 1/theta^(2i/Dh), frequencies and angles computed in float32 as the
// reference's precompute_freqs_cis does. Applied to q and k, never v.
#pragma once

#include <span>
#include <vector>

#include "core/graph.h"

namespace blt::ops {

class RopeTable {
 public:
  RopeTable(double theta, int64_t head_dim, int64_t max_positions);
  int64_t head_dim() const { return head_dim_; }
  int64_t max_positions() const { return max_positions_; }
  // (max_positions, head_dim/2) tables
  template <class T>
  const T* cos() const;
  template <class T>
  const T* sin() const;

 private:
  int64_t head_dim_, max_positions_;
  std::vector<float> cos32_, sin32_;
  std::vector<double> cos64_, sin64_;
};

// x (R,T,H,Dh), pos (T) -> out (R,T,H,Dh); positions index the table
template <class T>
void rope_forward(const RopeTable& table, const int32_t* pos, const T* x, T* out, int64_t R, int64_t Tn, int64_t H);

// dx (R,T,H,Dh) accumulated: the transposed rotation of dout
template <class T>
void rope_backward(const RopeTable& table, const int32_t* pos, const T* dout, T* dx, int64_t R, int64_t Tn, int64_t H);

// x (B,T,H,Dh), pos (T) -> (B,T,H,Dh). `table` must outlive backward; `pos` is copied for it.
Var rope(Graph& g, const Var& x, const RopeTable& table, std::span<const int32_t> pos);

}  // namespace blt::ops
