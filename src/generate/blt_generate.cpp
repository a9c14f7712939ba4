// Recompute-everything BLT sampling loop.
#include "generate/blt_generate.h"

#include <algorithm>
#include <vector>

#include "data/tokenizer.h"
#include "model/row_patcher.h"

namespace blt::gen {

std::string generate_blt(const model::BltModel& m, std::string_view prompt, int64_t max_bytes, Sampler& sampler,
                         const std::function<void(unsigned char)>& on_byte) {
  std::vector<int32_t> ids = data::encode(prompt, true, false);
  model::RowPatcher patcher(m.patcher, m.entropy ? &*m.entropy : nullptr, m.args.eos_id);
  model::PatchLayout layout;
  Graph g;
  g.set_recording(false);
  std::string out;
  std::vector<float> last(m.args.vocab_size);
  const int64_t ctx = m.args.max_encoder_seq_length;
  for (int64_t i = 0; i < max_bytes; ++i) {
    const int64_t start = std::max<int64_t>(0, static_cast<int64_t>(ids.size()) - ctx);
    const std::span<const int32_t> window(ids.data() + start, ids.size() - start);
    const int64_t N = static_cast<int64_t>(window.size());
    patcher.layout(window, 1, N, layout);
    g.reset();
    const Var logits = m.model->forward(g, window, layout);
    const int64_t V = logits.shape().last();
    for (int64_t v = 0; v < V; ++v) last[v] = static_cast<float>(logits.value.at((N - 1) * V + v));
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
