// The smallest models the fuzz seeds and targets use (width 8, one layer each),
// so a whole model directory, weights included, fits in a fuzz input of a few KB,
// and the one-document corpus of the entropy cache target and its seed.
#pragma once

#include <string>

#include "data/documents.h"
#include "lm/lm_args.h"
#include "model/blt_args.h"

namespace blt::fuzz {

inline lm::LMTransformerArgs tiny_lm() {
  lm::LMTransformerArgs a;
  a.dim = 8;
  a.n_layers = 1;
  a.n_heads = 2;
  a.multiple_of = 8;
  a.max_seqlen = 16;
  a.sliding_window = 8;
  return a;
}

// patching_mode e.g. "space" (no entropy model needed) or "entropy".
inline model::BltArgs tiny_blt(const std::string& patching_mode) {
  model::BltArgs a;
  a.dim_local_encoder = a.dim_local_decoder = 8;
  a.dim_global = 16;
  a.n_layers_local_encoder = a.n_layers_global = a.n_layers_local_decoder = 1;
  a.n_heads_local_encoder = a.n_heads_local_decoder = a.n_heads_global = 2;
  a.multiple_of = 8;
  a.max_seqlen = a.max_encoder_seq_length = 16;
  a.local_attention_window_len = 8;
  a.encoder_hash_byte_group_size = {3};
  a.encoder_hash_byte_group_nb_functions = 1;
  a.encoder_hash_byte_group_vocab = 7;
  a.downsampling_by_pooling = "max";
  a.patching_mode = patching_mode;
  return a;
}

inline data::Corpus tiny_corpus() {
  data::Corpus c;
  c.add("In the beginning");
  return c;
}

}  // namespace blt::fuzz
