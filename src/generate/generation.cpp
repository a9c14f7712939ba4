// The generation loop over rows of decoders.
#include "generate/generation.h"

#include "generate/blt_decoder.h"
#include "generate/lm_decoder.h"
#include "generate/row_generation.h"

namespace blt::gen {

namespace {
// Says each kind of notice once.
OnNotice once(const OnNotice& notice, bool& told) {
  return [&notice, &told](const std::string& s) {
    if (!told && notice) notice(s);
    told = true;
  };
}
}  // namespace

std::unique_ptr<Decoder> make_decoder(const modeldir::BltModel* m, const lm::LMTransformer* lm, bool cache) {
  if (m) return cache ? std::unique_ptr<Decoder>(std::make_unique<BltCachedDecoder>(*m))
                      : std::unique_ptr<Decoder>(std::make_unique<BltNoCacheDecoder>(*m));
  return cache ? std::unique_ptr<Decoder>(std::make_unique<LmCachedDecoder>(*lm))
               : std::unique_ptr<Decoder>(std::make_unique<LmNoCacheDecoder>(*lm));
}

std::vector<GenerationResult> generate(const modeldir::BltModel* m, const lm::LMTransformer* lm,
                                       const std::vector<std::string>& prompts, const GenerateOptions& opt,
                                       const OnText& on_text, const OnNotice& on_notice) {
  if ((m == nullptr) == (lm == nullptr)) throw ConfigError("generate: give exactly one model");
  if (opt.max_bytes < 0) throw ConfigError("max_bytes must be >= 0");
  bool told_prompt = false, told_cut = false;
  const OnNotice prompt_notice = once(on_notice, told_prompt), cut_notice = once(on_notice, told_cut);
  std::vector<RowGeneration> rows;
  rows.reserve(prompts.size());
  for (size_t r = 0; r < prompts.size(); ++r) rows.emplace_back(m, lm, prompts[r], r, opt, prompt_notice, cut_notice);
  for (bool active = true; active;) {  // the rows step together, one token each per round
    active = false;
    for (size_t r = 0; r < rows.size(); ++r) {
      RowGeneration& row = rows[r];
      if (row.done()) continue;
      row.step();
      const RowChunk c = row.take();
      if (on_text && !c.text.empty()) on_text(static_cast<int64_t>(r), c.text, c.patch_starts);
      active = active || !row.done();
    }
  }
  std::vector<GenerationResult> out;
  for (RowGeneration& row : rows) out.push_back(row.result());
  return out;
}

std::vector<int64_t> generated_patch_lengths(std::span<const char> starts) {
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < starts.size(); ++i) {
    if (starts[i] || lengths.empty()) lengths.push_back(0);
    ++lengths.back();
  }
  return lengths;
}

}  // namespace blt::gen
