// /v1/patch and /v1/eval: one text through the patcher or the evaluator,
// exactly as `blt patch` and `blt eval` treat a document ([BOS] + bytes;
// entropies from the entropy model with fresh context; patches with the next
// byte included; bits per byte over bytes + [EOS]).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "modeldir/blt_model.h"

namespace blt::serve {

// The patches of text under the BLT's patcher settings, per byte of text: `starts` (0|1: the byte opens a
// patch), `entropies` (the entropy compared for that byte, H of the position before it; [] outside entropy
// mode), `lengths` (patch lengths over the text's bytes, the patch holding BOS not counted), `bytes`,
// `mode`, `threshold` (null outside entropy mode).
nlohmann::json patch_text(const modeldir::BltModel& m, const std::string& text);

// {"bits_per_byte", "mean_patch_bytes" (null for a byte LM), "bytes" (predicted positions: bytes + EOS)} of
// text as one document, under `blt` (BLT) or `lm` (byte LM), exactly one non-null.
nlohmann::json eval_text(const modeldir::BltModel* blt, const lm::LMTransformer* lm, const std::string& text);

}  // namespace blt::serve
