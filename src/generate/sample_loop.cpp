// The shared prompt -> bytes sampling loop.
#include "generate/sample_loop.h"

#include <algorithm>
#include <vector>

#include "data/tokenizer.h"

namespace blt::gen {

std::string sample_loop(std::string_view prompt, int64_t max_bytes, int64_t context, Sampler& sampler,
                        const NextLogits& next_logits, const std::function<void(unsigned char)>& on_byte) {
  std::vector<int32_t> ids = data::encode(prompt, true, false);
  std::string out;
  for (int64_t i = 0; i < max_bytes; ++i) {
    const int64_t start = std::max<int64_t>(0, static_cast<int64_t>(ids.size()) - context);
    const int32_t next = sampler.sample(next_logits({ids.data() + start, ids.size() - static_cast<size_t>(start)}));
    if (next == data::kEosId) break;
    ids.push_back(next);
    if (next >= data::kOffset) {
      const auto b = static_cast<unsigned char>(next - data::kOffset);
      out.push_back(static_cast<char>(b));
      if (on_byte) on_byte(b);
    }
  }
  return out;
}

}  // namespace blt::gen
