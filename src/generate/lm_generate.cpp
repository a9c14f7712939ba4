// Recompute-everything sampling loop for byte LMs.
#include "generate/lm_generate.h"

#include <algorithm>
#include <vector>

#include "data/tokenizer.h"

namespace blt::gen {

std::string generate_lm(const entropy::LMTransformer& model, std::string_view prompt, int64_t max_bytes,
                        Sampler& sampler, const std::function<void(unsigned char)>& on_byte) {
  std::vector<int32_t> ids = data::encode(prompt, true, false);
  std::string out;
  Graph g;
  g.set_recording(false);
  const int64_t ctx = model.args().max_seqlen;
  std::vector<float> last(model.args().vocab_size);
  for (int64_t i = 0; i < max_bytes; ++i) {
    const int64_t start = std::max<int64_t>(0, static_cast<int64_t>(ids.size()) - ctx);
    const std::span<const int32_t> window(ids.data() + start, ids.size() - start);
    g.reset();
    Var logits = model.forward(g, window, 1, static_cast<int64_t>(window.size()));
    const int64_t V = logits.shape().last(), T = static_cast<int64_t>(window.size());
    for (int64_t v = 0; v < V; ++v) last[v] = static_cast<float>(logits.value.at((T - 1) * V + v));
    const int32_t next = sampler.sample(last);
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
