// Decoder helpers.
#include "generate/decoder.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace blt::gen {

void Decoder::append(std::span<const int32_t> tokens) {
  if (tokens.empty() || size() + static_cast<int64_t>(tokens.size()) > capacity())
    throw ShapeError("[decoder] feeding " + std::to_string(tokens.size()) + " tokens to a context of " +
                     std::to_string(size()) + "/" + std::to_string(capacity()));
  context_.insert(context_.end(), tokens.begin(), tokens.end());
}

std::span<const float> Decoder::last_row(const TensorView& logits, std::vector<float>& out) {
  const int64_t V = logits.shape().last(), T = logits.numel() / V;
  out.resize(static_cast<size_t>(V));
  const float* row = logits.data<float>() + (T - 1) * V;
  std::copy(row, row + V, out.begin());
  return out;
}

}  // namespace blt::gen
