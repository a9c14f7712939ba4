// Temperature + top-p sampling.
#include "generate/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace blt::gen {

void SamplerOptions::validate() const {
  if (!(temperature >= 0)) throw ConfigError("sampler: temperature must be >= 0");
  if (!(top_p > 0 && top_p <= 1)) throw ConfigError("sampler: top_p must be in (0, 1]");
  if (top_k < 0) throw ConfigError("sampler: top_k must be >= 0");
}

Sampler::Sampler(SamplerOptions opt) : opt_(opt), rng_(opt.seed) { opt.validate(); }

int32_t Sampler::sample(std::span<const float> logits) {
  const int32_t V = static_cast<int32_t>(logits.size());
  if (opt_.temperature == 0) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const float mx = *std::max_element(logits.begin(), logits.end());
  probs_.resize(V);
  double z = 0;
  for (int32_t i = 0; i < V; ++i) {
    const float p = static_cast<float>(std::exp((logits[i] - mx) / opt_.temperature));
    probs_[i] = {p, i};
    z += p;
  }
  std::sort(probs_.begin(), probs_.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  // Top-k, then the nucleus: the smallest prefix reaching top_p of the mass left.
  if (opt_.top_k > 0 && static_cast<size_t>(opt_.top_k) < probs_.size()) {
    z = 0;
    for (int64_t i = 0; i < opt_.top_k; ++i) z += probs_[i].first;
    probs_.resize(static_cast<size_t>(opt_.top_k));
  }
  double kept = 0;
  size_t n = 0;
  while (n < probs_.size() && (n == 0 || kept < opt_.top_p * z)) kept += probs_[n++].first;
  double u = rng_.uniform() * kept;
  for (size_t i = 0; i < n; ++i) {
    u -= probs_[i].first;
    if (u < 0) return probs_[i].second;
  }
  return probs_[n - 1].second;
}

}  // namespace blt::gen
