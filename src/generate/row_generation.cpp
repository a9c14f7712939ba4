// One row's generation state machine (prefill, steps, context cuts, release).
#include "generate/row_generation.h"

#include <chrono>

#include "data/tokenizer.h"
#include "generate/context_window.h"

namespace blt::gen {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

RowGeneration::RowGeneration(const modeldir::BltModel* m, const lm::LMTransformer* lm, const std::string& prompt,
                             size_t r, const GenerateOptions& opt, const OnNotice& prompt_notice, OnNotice cut_notice)
    : dec_(make_decoder(m, lm, opt.cache)),
      sampler_([&] {
        SamplerOptions so = opt.sampler;
        so.seed += r;
        return so;
      }()),
      stream_(opt.stop),
      max_bytes_(opt.max_bytes),
      cut_notice_(std::move(cut_notice)) {
  std::vector<int32_t> ids = data::encode(prompt, true, false);
  const int64_t cut = prompt_cut(static_cast<int64_t>(ids.size()), dec_->capacity());
  if (cut > 0) {
    ids.erase(ids.begin(), ids.begin() + cut);
    r_.prompt_cut = true;
    if (prompt_notice)
      prompt_notice("prompt " + std::to_string(r) + " is longer than the context (" +
                    std::to_string(dec_->capacity()) + " tokens): kept its last " + std::to_string(ids.size()));
  }
  r_.prompt_tokens = static_cast<int64_t>(ids.size());
  if (max_bytes_ == 0) {
    done_ = true;
    r_.finish = "length";
    return;
  }
  const auto t = Clock::now();
  const auto l = dec_->feed(ids);
  logits_.assign(l.begin(), l.end());
  r_.prefill_s = since(t);
  r_.generated_global_steps = -dec_->global_steps();  // the prefill's steps do not count as generated
}

// Cuts a full context and feeds the kept window again.
void RowGeneration::cut_context() {
  const int64_t from = dec_->cut_point();
  const std::vector<int32_t> kept(dec_->context().begin() + from, dec_->context().end());
  dec_->reset();
  const auto l = dec_->feed(kept);
  logits_.assign(l.begin(), l.end());
  if (r_.context_cuts++ == 0 && cut_notice_)
    cut_notice_("context full (" + std::to_string(dec_->capacity()) + " tokens): dropped the oldest " +
                std::to_string(from) + "; from here the output equals recomputing on the kept window");
}

bool RowGeneration::push_byte(unsigned char b) {
  if (const auto h = dec_->next_entropy()) r_.entropies.push_back(*h);
  if (!stream_.push(b, dec_->next_opens_patch())) return false;
  if (!r_.entropies.empty()) r_.entropies.resize(stream_.text().size());  // the stop string's bytes go
  return true;
}

bool RowGeneration::step() {
  const auto t = Clock::now();
  const int32_t next = sampler_.sample(logits_);
  r_.ids.push_back(next);
  done_ = true;
  if (next == data::kEosId) {
    r_.finish = "eos";
  } else if (next >= data::kOffset && push_byte(static_cast<unsigned char>(next - data::kOffset))) {
    r_.finish = "stop";
  } else if (static_cast<int64_t>(r_.ids.size()) >= max_bytes_) {
    // Every generated id counts: a non-byte id adds no text, and counting text alone never ends such a row.
    r_.finish = "length";
  } else {
    done_ = false;
    if (dec_->size() == dec_->capacity()) cut_context();
    const auto l = dec_->feed({&next, 1});
    logits_.assign(l.begin(), l.end());
  }
  r_.generate_s += since(t);
  return done_;
}

RowChunk RowGeneration::take() {
  RowChunk c;
  c.text = stream_.take(done_);
  c.patch_starts = stream_.take_flags();
  if (!r_.entropies.empty()) c.entropies = std::span(r_.entropies).subspan(text_taken_, c.text.size());
  text_taken_ += c.text.size();
  c.ids = std::span(r_.ids).subspan(ids_taken_);
  ids_taken_ = r_.ids.size();
  return c;
}

GenerationResult RowGeneration::result() {
  r_.text = stream_.text();
  r_.patch_starts = stream_.patch_starts();
  r_.global_steps = dec_->global_steps();
  r_.generated_global_steps += dec_->global_steps();
  r_.flops = dec_->flops();
  return std::move(r_);
}

}  // namespace blt::gen
