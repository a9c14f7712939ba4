// A random tiny BLT with cross attention and entropy patching for the
// generation tests: the entropy model is random too, and the threshold is
// the median entropy of a calibration text, so patches vary in length.
#pragma once

#include <algorithm>
#include <string_view>
#include <vector>

#include "core/rng.h"
#include "data/tokenizer.h"
#include "modeldir/blt_model.h"
#include "patching/row_patcher.h"
#include "support/tiny_models.h"

namespace blt::test {

// seq: max_seqlen = max_encoder_seq_length.
inline modeldir::BltModel entropy_blt(int64_t seq, std::string_view calibration_text, uint64_t seed = 7) {
  TinyBlt t;
  t.seq = seq;
  t.window = 8;
  t.layers_encoder = 2;
  model::BltArgs a = tiny_blt_args(t);
  a.patching_mode = "entropy";
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Entropy;
  auto m = modeldir::BltModel::create(a, pa);
  Rng init(seed);
  m.params->initialize(init);
  m.entropy = modeldir::EntropyModel::create(tiny_lm_args(128, 16), pa);
  Rng ei(seed + 100);
  m.entropy->params->initialize(ei);
  const std::vector<int32_t> tokens = data::encode(calibration_text, true, false);
  patching::RowPatcher rp(pa, m.entropy_lm(), a.eos_id);
  std::vector<float> h;
  rp.row_entropies(tokens, 1, static_cast<int64_t>(tokens.size()), h);
  std::nth_element(h.begin(), h.begin() + h.size() / 2, h.end());
  m.patcher.threshold = h[h.size() / 2];
  return m;
}

}  // namespace blt::test
