// Recompute-everything BLT sampling: re-patch and re-run the whole window per byte.
#include "generate/blt_generate.h"

#include <vector>

#include "generate/sample_loop.h"
#include "patching/row_patcher.h"

namespace blt::gen {

std::string generate_blt(const modeldir::BltModel& m, std::string_view prompt, int64_t max_bytes, Sampler& sampler,
                         const std::function<void(unsigned char)>& on_byte) {
  patching::RowPatcher patcher(m.patcher, m.entropy_lm(), m.args.eos_id);
  patching::PatchLayout layout;
  Graph g;
  g.set_recording(false);
  std::vector<float> last(m.args.vocab_size);
  auto next_logits = [&](std::span<const int32_t> window) -> std::span<const float> {
    const int64_t N = static_cast<int64_t>(window.size());
    patcher.layout(window, 1, N, layout);
    g.reset();
    const Var logits = m.model->forward(g, window, layout);
    const int64_t V = logits.shape().last();
    for (int64_t v = 0; v < V; ++v) last[v] = static_cast<float>(logits.value.at((N - 1) * V + v));
    return last;
  };
  return sample_loop(prompt, max_bytes, m.args.max_encoder_seq_length, sampler, next_logits, on_byte);
}

}  // namespace blt::gen
