// Recompute-everything sampling for byte LMs.
#include "generate/lm_generate.h"

#include <vector>

#include "generate/sample_loop.h"

namespace blt::gen {

std::string generate_lm(const lm::LMTransformer& model, std::string_view prompt, int64_t max_bytes,
                        Sampler& sampler, const std::function<void(unsigned char)>& on_byte) {
  Graph g;
  g.set_recording(false);
  std::vector<float> last(model.args().vocab_size);
  auto next_logits = [&](std::span<const int32_t> window) -> std::span<const float> {
    const int64_t T = static_cast<int64_t>(window.size());
    g.reset();
    const Var logits = model.forward(g, window, 1, T);
    const int64_t V = logits.shape().last();
    for (int64_t v = 0; v < V; ++v) last[v] = static_cast<float>(logits.value.at((T - 1) * V + v));
    return last;
  };
  return sample_loop(prompt, max_bytes, model.args().max_seqlen, sampler, next_logits, on_byte);
}

}  // namespace blt::gen
