// Sampler: picks the next id from logits with temperature, top-k and nucleus
// (top-p) filtering, or greedily at temperature 0. It owns its seeded Rng, so a seed
// reproduces a generation exactly.
#pragma once

#include <span>
#include <vector>

#include "core/rng.h"

namespace blt::gen {

struct SamplerOptions {
  double temperature = 0.8;  // 0: argmax
  int64_t top_k = 0;         // keep the k most likely ids first (0: all)
  double top_p = 0.95;       // keep the smallest set of ids whose probability reaches top_p
  uint64_t seed = 1;

  // ConfigError naming the option: temperature < 0, top_p outside (0, 1], top_k < 0.
  void validate() const;
};

class Sampler {
 public:
  explicit Sampler(SamplerOptions opt);
  // logits (V) -> an id in [0, V)
  int32_t sample(std::span<const float> logits);

 private:
  SamplerOptions opt_;
  Rng rng_;
  std::vector<std::pair<float, int32_t>> probs_;
};

}  // namespace blt::gen
