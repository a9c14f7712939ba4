// Small BLT configurations for tests: the shape knobs tests vary, with
// defaults for the rest (hash n-grams 3..4, one function, cross attention
// k=2 initialised by max pooling, or avg/min/max pooling without it).
// Tests adjust further fields on the result and call validate().
#pragma once

#include "lm/lm_args.h"
#include "model/blt_args.h"

namespace blt::test {

struct TinyBlt {
  int64_t dim_local = 16, dim_global = 32;
  int64_t layers_encoder = 1, layers_global = 1, layers_decoder = 1;
  int64_t heads = 2;     // every transformer and the cross attention
  int64_t seq = 64;      // max_seqlen and max_encoder_seq_length
  int64_t window = 16;   // local attention window
  bool cross = true;     // cross attention both ways, else pooling
};

inline model::BltArgs tiny_blt_args(const TinyBlt& t = {}) {
  model::BltArgs a;
  a.dim_local_encoder = a.dim_local_decoder = t.dim_local;
  a.dim_global = t.dim_global;
  a.n_layers_local_encoder = t.layers_encoder;
  a.n_layers_global = t.layers_global;
  a.n_layers_local_decoder = t.layers_decoder;
  a.n_heads_local_encoder = a.n_heads_local_decoder = a.n_heads_global = t.heads;
  a.multiple_of = 16;
  a.max_seqlen = a.max_encoder_seq_length = t.seq;
  a.local_attention_window_len = t.window;
  a.encoder_hash_byte_group_size = {3, 4};
  a.encoder_hash_byte_group_nb_functions = 1;
  a.encoder_hash_byte_group_vocab = 61;
  if (t.cross) {
    a.cross_attn_encoder = a.cross_attn_decoder = true;
    a.cross_attn_k = 2;
    a.cross_attn_nheads = t.heads;
    a.cross_attn_init_by_pooling = true;
    a.downsampling_by_pooling = "max";
  } else {
    a.downsampling_by_pooling = "avg,min,max";
  }
  return a;
}

// A small Llama-style LM (the entropy model, a byte LM): dim 32, 2 layers, 4 heads over 2 KV heads (GQA),
// local block-causal attention with the given window.
inline lm::LMTransformerArgs tiny_lm_args(int64_t seq = 64, int64_t window = 12) {
  lm::LMTransformerArgs a;
  a.dim = 32;
  a.n_layers = 2;
  a.n_heads = 4;
  a.n_kv_heads = 2;
  a.multiple_of = 16;
  a.max_seqlen = seq;
  a.sliding_window = window;
  return a;
}

}  // namespace blt::test
