// Chunked, batched entropy computation.
#include "entropy/entropies.h"

#include <algorithm>

#include "ops/cross_entropy.h"

namespace blt::entropy {

EntropyComputer::EntropyComputer(const LMTransformer& model, EntropyOptions opt)
    : model_(model), chunk_(std::min(opt.chunk, model.args().max_seqlen)), batch_(std::max<int64_t>(1, opt.batch)) {
  if (opt.chunk <= 0) throw ConfigError("entropy chunk size must be positive");
  graph_.set_recording(false);
}

void EntropyComputer::run(bool flush, const std::function<void(std::span<const float>)>& emit) {
  size_t done = 0;
  while (true) {
    const int64_t left = static_cast<int64_t>(pending_.size() - done);
    const int64_t full = left / chunk_;
    int64_t rows = std::min(full, batch_), T = chunk_;
    if (rows == 0) {
      if (!flush || left == 0) break;
      rows = 1;  // the last, shorter chunk
      T = left;
    }
    graph_.reset();
    const std::span<const int32_t> toks(pending_.data() + done, static_cast<size_t>(rows * T));
    Var logits = model_.forward(graph_, toks, rows, T);
    TensorView h = graph_.scratch(Shape{rows * T}, logits.dtype());
    ops::row_entropy(logits.value.reshape(Shape{rows * T, logits.shape().last()}), h);
    out_.resize(rows * T);
    for (int64_t i = 0; i < rows * T; ++i) out_[i] = static_cast<float>(h.at(i));
    emit(out_);
    done += static_cast<size_t>(rows * T);
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
}

void EntropyComputer::push(std::span<const int32_t> tokens, const std::function<void(std::span<const float>)>& emit) {
  pending_.insert(pending_.end(), tokens.begin(), tokens.end());
  if (static_cast<int64_t>(pending_.size()) >= chunk_ * batch_) run(false, emit);
}

void EntropyComputer::finish(const std::function<void(std::span<const float>)>& emit) { run(true, emit); }

std::vector<float> EntropyComputer::compute(std::span<const int32_t> tokens) {
  std::vector<float> all;
  all.reserve(tokens.size());
  auto emit = [&](std::span<const float> h) { all.insert(all.end(), h.begin(), h.end()); };
  push(tokens, emit);
  finish(emit);
  return all;
}

}  // namespace blt::entropy
