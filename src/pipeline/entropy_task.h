// The entropy model as a train::TrainTask: mean next-byte cross-entropy on
// packed rows, validation bits-per-byte on held-out documents (each document
// evaluated alone, x = [BOS]+bytes, y = bytes+[EOS]), and saving the model
// directory in the official layout. TokenLmTask is the same LM over token
// ids (the BPE baseline): only its validation differs, in bits per byte of
// the text its tokens cover (eval::token_lm_bpb).
#pragma once

#include <optional>

#include "data/packing.h"
#include "modeldir/entropy_model.h"
#include "train/trainer.h"

namespace blt::pipeline {

class EntropyTask : public train::TrainTask {
 public:
  // `valid` may be null (no validation); valid_bytes limits each validation (0: the whole set).
  EntropyTask(modeldir::EntropyModel& model, const data::Corpus* valid, int64_t valid_bytes);

  const nn::ParamRegistry& params() const override { return *model_.params; }
  Var loss(Graph& g, std::span<const int32_t> rows, std::span<const float> side, int64_t B, int64_t L) override;
  std::optional<double> validate() override;
  void save_model(const std::string& dir) override { model_.save(dir); }

 private:
  modeldir::EntropyModel& model_;
  const data::Corpus* valid_;
  int64_t valid_bytes_;
  std::vector<int32_t> x_, y_;
};

class TokenLmTask : public EntropyTask {
 public:
  // `model` is an LM over token ids (vocab_size the tokenizer's); `valid` may be null.
  TokenLmTask(modeldir::EntropyModel& model, const data::TokenCorpus* valid);
  std::optional<double> validate() override;

 private:
  const lm::LMTransformer& lm_;
  const data::TokenCorpus* valid_tokens_;
};

}  // namespace blt::pipeline
