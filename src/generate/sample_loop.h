// The sampling loop both byte generators share: the prompt becomes
// [BOS] + bytes; each step asks `next_logits` for the logits of the token
// after the last `context` tokens, samples one id, stops at EOS, and hands
// every byte to `on_byte` as it comes.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "generate/sampler.h"

namespace blt::gen {

// next_logits(window) -> logits (V) predicting the token after `window`.
using NextLogits = std::function<std::span<const float>(std::span<const int32_t> window)>;

std::string sample_loop(std::string_view prompt, int64_t max_bytes, int64_t context, Sampler& sampler,
                        const NextLogits& next_logits, const std::function<void(unsigned char)>& on_byte);

}  // namespace blt::gen
