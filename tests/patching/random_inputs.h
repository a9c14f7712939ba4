// Random patcher inputs for the property tests: token rows drawn from a mix
// that hits every space/bpe rule (BOS/EOS/BPE ids, letters, digits, spaces,
// punctuation, UTF-8 lead and continuation bytes), entropies drawn from a grid
// that makes exact threshold and difference ties frequent, and random
// PatcherArgs over all modes and options.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "patching/patcher_args.h"

namespace blt::test {

inline int32_t random_token(std::mt19937& rng) {
  static const int32_t pool[] = {1,        2,        3,        3,       'a' + 4, 'b' + 4,  'Z' + 4,
                                 '7' + 4,  ' ' + 4,  ' ' + 4,  ',' + 4, '.' + 4, '\n' + 4, 0xC3 + 4,
                                 0xA9 + 4, 0x80 + 4, 0xFF + 4, 0 + 4,   0};
  return pool[std::uniform_int_distribution<size_t>(0, std::size(pool) - 1)(rng)];
}

// Grid of entropies for threshold 1.0 / threshold_add 0.5 ties, plus the default threshold itself.
inline float random_entropy(std::mt19937& rng) {
  static const float grid[] = {
      0.0f, 0.25f, 0.5f, 1.0f, 1.0f, 1.5f, 2.0f, 3.0f, 1.335442066192627f, 0.835442066192627f};
  if (std::uniform_int_distribution<int>(0, 4)(rng) == 0)
    return std::uniform_real_distribution<float>(0, 3)(rng);
  return grid[std::uniform_int_distribution<size_t>(0, std::size(grid) - 1)(rng)];
}

inline std::vector<int32_t> random_tokens(std::mt19937& rng, size_t n) {
  std::vector<int32_t> t(n);
  for (auto& v : t) v = random_token(rng);
  return t;
}

inline std::vector<float> random_entropies(std::mt19937& rng, size_t n) {
  std::vector<float> h(n);
  for (auto& v : h) v = random_entropy(rng);
  return h;
}

inline patching::PatcherArgs random_args(std::mt19937& rng) {
  using patching::PatchingMode;
  patching::PatcherArgs a;
  const PatchingMode modes[] = {PatchingMode::Entropy, PatchingMode::Entropy, PatchingMode::Entropy,
                                PatchingMode::Bpe,     PatchingMode::Space,   PatchingMode::Static,
                                PatchingMode::Byte};
  a.patching_mode = modes[std::uniform_int_distribution<size_t>(0, std::size(modes) - 1)(rng)];
  auto coin = [&](int one_in) { return std::uniform_int_distribution<int>(0, one_in - 1)(rng) == 0; };
  a.threshold = coin(3) ? 1.335442066192627 : (coin(2) ? 1.0 : 0.5);
  if (coin(3)) a.monotonicity = true;
  if (coin(2)) a.threshold_add = coin(2) ? 0.5 : 0.0;
  if (coin(2)) a.max_patch_length = std::uniform_int_distribution<int64_t>(1, 5)(rng);
  a.patch_size = static_cast<double>(std::uniform_int_distribution<int>(1, 5)(rng));
  return a;
}

}  // namespace blt::test
