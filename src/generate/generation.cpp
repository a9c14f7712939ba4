// The generation loop over rows of decoders.
#include "generate/generation.h"

#include <chrono>

#include "data/tokenizer.h"
#include "generate/blt_decoder.h"
#include "generate/context_window.h"
#include "generate/lm_decoder.h"
#include "generate/text_stream.h"

namespace blt::gen {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One prompt's generation state.
struct Row {
  std::unique_ptr<Decoder> dec;
  Sampler sampler;
  TextStream stream;
  GenerationResult r;
  std::vector<float> logits;
  bool done = false;
};

// Cuts a full context and feeds the kept window again.
void cut_context(Row& row, const OnNotice& notice) {
  const int64_t from = row.dec->cut_point();
  const std::vector<int32_t> kept(row.dec->context().begin() + from, row.dec->context().end());
  row.dec->reset();
  const auto l = row.dec->feed(kept);
  row.logits.assign(l.begin(), l.end());
  if (row.r.context_cuts++ == 0 && notice)
    notice("context full (" + std::to_string(row.dec->capacity()) + " tokens): dropped the oldest " +
           std::to_string(from) + "; from here the output equals recomputing on the kept window");
}

// A row for prompt r: its decoder, its sampler (seed + r), its prompt cut if longer than the context, and
// the prefill (unless nothing is to be generated).
Row start_row(const modeldir::BltModel* m, const lm::LMTransformer* lm, const std::string& prompt, size_t r,
              const GenerateOptions& opt, const OnNotice& notice) {
  SamplerOptions so = opt.sampler;
  so.seed += r;
  Row row{make_decoder(m, lm, opt.cache), Sampler(so), TextStream(opt.stop), {}, {}, false};
  std::vector<int32_t> ids = data::encode(prompt, true, false);
  const int64_t cut = prompt_cut(static_cast<int64_t>(ids.size()), row.dec->capacity());
  if (cut > 0) {
    ids.erase(ids.begin(), ids.begin() + cut);
    row.r.prompt_cut = true;
    if (notice)
      notice("prompt " + std::to_string(r) + " is longer than the context (" + std::to_string(row.dec->capacity()) +
             " tokens): kept its last " + std::to_string(ids.size()));
  }
  row.r.prompt_tokens = static_cast<int64_t>(ids.size());
  if (opt.max_bytes == 0) {
    row.done = true;
    row.r.finish = "length";
    return row;
  }
  const auto t = Clock::now();
  const auto l = row.dec->feed(ids);
  row.logits.assign(l.begin(), l.end());
  row.r.prefill_s = since(t);
  row.r.generated_global_steps = -row.dec->global_steps();  // the prefill's steps do not count as generated
  return row;
}

// Samples the row's next token and feeds it (cutting a full context first) -> is the row done?
bool step_row(Row& row, const GenerateOptions& opt, const OnNotice& notice) {
  const int32_t next = row.sampler.sample(row.logits);
  row.r.ids.push_back(next);
  if (next == data::kEosId) {
    row.r.finish = "eos";
    return true;
  }
  if (next >= data::kOffset &&
      row.stream.push(static_cast<unsigned char>(next - data::kOffset), row.dec->next_opens_patch())) {
    row.r.finish = "stop";
    return true;
  }
  // Every generated id counts: a non-byte id adds no text, and counting text alone never ends such a row.
  if (static_cast<int64_t>(row.r.ids.size()) >= opt.max_bytes) {
    row.r.finish = "length";
    return true;
  }
  if (row.dec->size() == row.dec->capacity()) cut_context(row, notice);
  const auto l = row.dec->feed({&next, 1});
  row.logits.assign(l.begin(), l.end());
  return false;
}

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
  std::vector<Row> rows;
  for (size_t r = 0; r < prompts.size(); ++r) rows.push_back(start_row(m, lm, prompts[r], r, opt, prompt_notice));
  for (bool active = true; active;) {  // the rows step together, one token each per round
    active = false;
    for (size_t r = 0; r < rows.size(); ++r) {
      Row& row = rows[r];
      if (row.done) continue;
      const auto t = Clock::now();
      row.done = step_row(row, opt, cut_notice);
      row.r.generate_s += since(t);
      const std::string_view text = row.stream.take(row.done);
      if (on_text && !text.empty()) on_text(static_cast<int64_t>(r), text, row.stream.take_flags());
      active = active || !row.done;
    }
  }
  std::vector<GenerationResult> out;
  for (Row& row : rows) {
    row.r.text = row.stream.text();
    row.r.patch_starts = row.stream.patch_starts();
    row.r.global_steps = row.dec->global_steps();
    row.r.generated_global_steps += row.dec->global_steps();
    row.r.flops = row.dec->flops();
    out.push_back(std::move(row.r));
  }
  return out;
}

}  // namespace blt::gen
