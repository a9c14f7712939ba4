// EntropyTask and TokenLmTask: loss, validation BPB.
#include "pipeline/entropy_task.h"

#include "eval/lm_bpb.h"
#include "ops/cross_entropy.h"
#include "pipeline/shared_validation.h"

namespace blt::pipeline {

EntropyTask::EntropyTask(modeldir::EntropyModel& model, const data::Corpus* valid, int64_t valid_bytes)
    : model_(model), valid_(valid), valid_bytes_(valid_bytes) {}

Var EntropyTask::loss(Graph& g, std::span<const int32_t> rows, std::span<const float>, int64_t B, int64_t L) {
  x_.resize(B * L);
  y_.resize(B * L);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      x_[b * L + t] = rows[b * (L + 1) + t];
      y_[b * L + t] = rows[b * (L + 1) + t + 1];
    }
  return ops::cross_entropy(g, model_.model->forward(g, x_, B, L), y_, ops::Reduction::Mean);
}

std::optional<double> EntropyTask::validate() {
  if (!valid_) return std::nullopt;
  data::EvalWindows windows(*valid_, model_.args.max_seqlen);
  dist::Communicator& comm = dist::Communicator::world();
  return eval::bits_per_target(
      gather_shares(eval::lm_nll(*model_.model, windows, valid_bytes_, rank_share(comm)), comm));
}

TokenLmTask::TokenLmTask(modeldir::EntropyModel& model, const data::TokenCorpus* valid)
    : EntropyTask(model, nullptr, 0), lm_(*model.model), valid_tokens_(valid) {}

std::optional<double> TokenLmTask::validate() {
  if (!valid_tokens_) return std::nullopt;
  data::EvalWindows windows(*valid_tokens_, lm_.args().max_seqlen);
  dist::Communicator& comm = dist::Communicator::world();
  return eval::token_lm_bpb(gather_shares(eval::lm_nll(lm_, windows, 0, rank_share(comm)), comm),
                            *valid_tokens_);
}

}  // namespace blt::pipeline
