// Patching and evaluation of a request's text.
#include "serve/analysis.h"

#include "data/tokenizer.h"
#include "eval/evaluate.h"
#include "eval/lm_bpb.h"
#include "generate/generation.h"

namespace blt::serve {

nlohmann::json patch_text(const modeldir::BltModel& m, const std::string& text) {
  const std::vector<int32_t> tokens = data::encode(text, true, false);
  const int64_t N = static_cast<int64_t>(tokens.size());
  patching::RowPatcher patcher(m.patcher, m.entropy_lm(), m.args.eos_id);
  const bool entropy = m.patcher.patching_mode == patching::PatchingMode::Entropy;
  std::vector<float> h;
  if (entropy) patcher.row_entropies(tokens, 1, N, h);
  patching::PatchLayout layout;
  patcher.layout(tokens, 1, N, layout, h);
  std::vector<char> opens(static_cast<size_t>(N) + 1, 0);  // per position, the next one included
  int64_t at = 0;
  for (int64_t p = 0; p < layout.P; ++p) {
    opens[static_cast<size_t>(at)] = 1;
    at += layout.lengths[static_cast<size_t>(p)];
  }
  const std::vector<char> starts(opens.begin() + 1, opens.end() - 1);  // byte i is position i + 1
  if (entropy) h.pop_back();  // H[i] decides position i + 1; the last one decides the next byte
  return {{"bytes", text.size()},
          {"lengths", gen::generated_patch_lengths(starts)},
          {"starts", std::vector<int>(starts.begin(), starts.end())},
          {"entropies", h},
          {"threshold", entropy ? nlohmann::json(m.patcher.threshold) : nlohmann::json()},
          {"mode", patching::to_string(m.patcher.patching_mode)}};
}

nlohmann::json eval_text(const modeldir::BltModel* blt, const lm::LMTransformer* lm, const std::string& text) {
  data::Corpus corpus;
  corpus.add(text);
  if (lm) {
    data::EvalWindows windows(corpus, lm->args().max_seqlen);
    return {{"bits_per_byte", eval::lm_bpb(*lm, windows, 0)}, {"mean_patch_bytes", nullptr}, {"bytes", text.size() + 1}};
  }
  data::EvalWindows windows(corpus, blt->args.max_encoder_seq_length);
  patching::RowPatcher patcher(blt->patcher, blt->entropy_lm(), blt->args.eos_id);
  const eval::EvalResult r = eval::evaluate(*blt, patcher, windows, 0);
  return {{"bits_per_byte", r.bpb}, {"mean_patch_bytes", r.mean_patch_size}, {"bytes", r.n_positions}};
}

}  // namespace blt::serve
