// Chunked, batched entropy computation.
#include "lm/entropies.h"

#include <algorithm>

#include "ops/cross_entropy.h"

namespace blt::lm {

EntropyComputer::EntropyComputer(const LMTransformer& model, EntropyOptions opt)
    : model_(model), chunk_(std::min(opt.chunk, model.args().max_seqlen)), batch_(std::max<int64_t>(1, opt.batch)) {
  if (opt.chunk <= 0) throw ConfigError("entropy chunk size must be positive");
  graph_.set_recording(false);
  graph_.set_precision(model.params().precision());
}

void EntropyComputer::forward_rows(std::span<const int32_t> tokens, int64_t rows, int64_t T, float* out) {
  graph_.reset();
  const Var logits = model_.forward(graph_, tokens, rows, T);
  const TensorView h = graph_.scratch(Shape{rows * T}, logits.dtype());
  ops::row_entropy(logits.value.reshape(Shape{rows * T, logits.shape().last()}), h);
  for (int64_t i = 0; i < rows * T; ++i) out[i] = static_cast<float>(h.at(i));
}

void EntropyComputer::compute_rows(std::span<const int32_t> tokens, int64_t B, int64_t N, std::span<float> out) {
  if (N > chunk_ || static_cast<int64_t>(tokens.size()) != B * N || static_cast<int64_t>(out.size()) != B * N)
    throw ShapeError("[entropies] rows (" + std::to_string(B) + "," + std::to_string(N) + ") vs chunk " +
                     std::to_string(chunk_) + ", " + std::to_string(tokens.size()) + " tokens, " +
                     std::to_string(out.size()) + " outputs");
  for (int64_t b = 0; b < B; b += batch_) {
    const int64_t rows = std::min(batch_, B - b);
    forward_rows(tokens.subspan(b * N, rows * N), rows, N, out.data() + b * N);
  }
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
    out_.resize(rows * T);
    forward_rows({pending_.data() + done, static_cast<size_t>(rows * T)}, rows, T, out_.data());
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

}  // namespace blt::lm
