// The analytic FLOP model.
#include "eval/flops.h"

#include <algorithm>

namespace blt::eval {

namespace {
// Mean number of keys a query attends to over T positions, causal within a window of w.
double mean_keys(int64_t T, int64_t w) {
  double s = 0;
  for (int64_t t = 0; t < T; ++t) s += static_cast<double>(std::min<int64_t>(t + 1, w));
  return T > 0 ? s / static_cast<double>(T) : 0;
}

// One transformer block at one position attending to m keys.
double block(const nn::TransformerArgs& t, double m) {
  const double d = static_cast<double>(t.dim), q = static_cast<double>(t.heads() * t.head_size()),
               kv = static_cast<double>(t.kv_heads() * t.head_size()), f = static_cast<double>(t.ffn_hidden());
  return 2 * d * q + 2 * 2 * d * kv + 2 * q * d + 3 * 2 * d * f + 2 * 2 * q * m;
}
}  // namespace

double FlopEstimate::total() const {
  double s = 0;
  for (const auto& [k, v] : per_byte) s += v;
  return s;
}

double lm_flops_per_token(const lm::LMTransformerArgs& a, int64_t seq_len) {
  const double m = mean_keys(seq_len, a.sliding_window.value_or(seq_len));
  return static_cast<double>(a.n_layers) * block(a, m) + 2.0 * static_cast<double>(a.dim * a.vocab_size);
}

FlopEstimate blt_flops(const model::BltArgs& a, double S, int64_t N, const std::optional<lm::LMTransformerArgs>& entropy) {
  FlopEstimate e;
  const double d = static_cast<double>(a.dim_local_encoder), dg = static_cast<double>(a.dim_global),
               k = static_cast<double>(a.k());
  const nn::TransformerArgs enc = a.encoder_args(), dec = a.decoder_args(), glob = a.global_args();
  const double m_local = mean_keys(N, a.local_attention_window_len);
  const int64_t P = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(N) / S + 0.5));

  e.per_byte["local_encoder"] = static_cast<double>(enc.n_layers) * block(enc, m_local);
  if (a.cross_attn_encoder) {
    const double layers = a.cross_attn_all_layers_encoder ? static_cast<double>(enc.n_layers) : 1;
    const double w = static_cast<double>(a.cross_attn_window_encoder.value_or(1));
    // Per patch: k query slots through wq and wo; per byte: wk and wv; each slot attends to w patches' bytes.
    const double per_layer = k / S * 4 * d * d + 4 * d * d + 2 * 2 * d * k * w;
    e.per_byte["encoder_cross_attn"] = layers * per_layer + 2 * d * (k * d) / S;  // + the pooling projection
  }
  const double din = static_cast<double>(a.global_dim_patch_emb());
  const double proj = din != dg ? 2 * din * dg : 0;
  e.per_byte["global"] = (proj + static_cast<double>(glob.n_layers) * block(glob, mean_keys(P, P))) / S;

  const double dec_proj_out = static_cast<double>(a.decoder_dim_token_emb()) * (a.cross_attn_decoder ? k : 1);
  const double dec_proj = a.dim_global != a.dim_local_decoder ? 2 * dg * dec_proj_out : 0;
  e.per_byte["local_decoder"] = static_cast<double>(dec.n_layers) * block(dec, m_local) +
                                2 * static_cast<double>(dec.dim * a.vocab_size) +
                                (a.cross_attn_decoder ? dec_proj / S : dec_proj);  // projected per patch or per byte
  if (a.cross_attn_decoder) {
    const double layers = a.cross_attn_all_layers_decoder ? static_cast<double>(dec.n_layers) : 1;
    const double w = static_cast<double>(a.cross_attn_window_decoder.value_or(1));
    // Per byte: wq and wo; per patch: k slots through wk and wv; each byte attends to w·k slots.
    e.per_byte["decoder_cross_attn"] = layers * (4 * d * d + k / S * 4 * d * d + 2 * 2 * d * k * w);
  }
  if (entropy) e.per_byte["entropy_model"] = lm_flops_per_token(*entropy, std::min<int64_t>(N, entropy->max_seqlen));
  return e;
}

}  // namespace blt::eval
