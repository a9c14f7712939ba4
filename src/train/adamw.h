// AdamW with decoupled weight decay (torch.optim.AdamW semantics), one loop
// over the registry's flat value/gradient arenas with moment arenas of the
// same layout; global L2 gradient-norm clipping; and the learning-rate
// schedule: linear warmup, then cosine decay to a floor.
#pragma once

#include <cstdint>

#include "nn/params.h"

namespace blt::train {

struct AdamWConfig {
  double lr = 3e-3;            // peak learning rate
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;   // decoupled: p -= lr·wd·p
};

struct ScheduleConfig {
  int64_t warmup = 100;        // steps of linear warmup from lr/warmup to lr
  int64_t total = 1000;        // step at which the cosine reaches the floor
  double min_ratio = 0.1;      // floor, as a fraction of the peak lr
};

// Learning-rate factor at 1-based step s: s/warmup during warmup, then cosine from 1 to min_ratio.
double lr_factor(const ScheduleConfig& c, int64_t step);

// Scales all gradients so their global L2 norm is at most max_norm (torch's clip_grad_norm_);
// returns the norm before clipping. max_norm <= 0 only measures; a non-finite norm leaves the
// gradients as they are (the trainer names the tensor).
double clip_grad_norm(const nn::ParamRegistry& reg, double max_norm);

class AdamW {
 public:
  AdamW(const nn::ParamRegistry& reg, AdamWConfig cfg);

  // One update with learning rate lr; increments step().
  void step(double lr);
  int64_t steps() const { return step_; }
  void set_steps(int64_t s) { step_ = s; }
  // Moment arenas, same layout as reg.values() (checkpointing).
  const Tensor& m() const { return m_; }
  const Tensor& v() const { return v_; }

 private:
  const nn::ParamRegistry& reg_;
  AdamWConfig cfg_;
  Tensor m_, v_;
  int64_t step_ = 0;
};

}  // namespace blt::train
