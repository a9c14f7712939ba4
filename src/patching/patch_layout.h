// PatchLayout: everything the BLT forward derives from the patch lengths of a
// batch (bytelatent/model/blt.py semantics):
//   patch_ids        id(t) = #{k : cumstart_k <= t} − 1, cumstart = [0, l0, l0+l1, ...]
//   offsets          patch p covers bytes [off_p, off_p+1), clipped to N (pooling segments)
//   decoder ids      patch ids of lengths[1:]: byte t reads global patch enc_id(t+1) − 1
//   global tokens    BOE per patch, EOS for a patch holding an EOS byte (global block-causal mask)
// and the cross-attention key ranges (patch query p·k+j sees the bytes of
// patches p−w+1..p; byte t sees the k slots of decoder patches d−w+1..d).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "ops/attention.h"

namespace blt::patching {

struct PatchLayout {
  int64_t B = 0, N = 0, P = 0;              // rows, bytes per row, patches per row (zero-padded)
  std::vector<int32_t> lengths;             // (B,P)
  std::vector<int32_t> patch_ids;           // (B,N)
  std::vector<int32_t> offsets;             // (B,P+1)
  std::vector<int32_t> decoder_patch_ids;   // (B,N)
  std::vector<int32_t> global_tokens;       // (B,P)
};

// tokens (B,N), lengths (B,P). Every row's lengths must be >= 0, start with a patch of 1 byte (the
// decoder's requirement) and sum to N or N+1 (include_next_token); otherwise blt::Error says which row.
PatchLayout make_patch_layout(std::span<const int32_t> tokens, std::span<const int32_t> lengths, int64_t B, int64_t N,
                              int64_t P, int32_t eos_id);
// The same into `out`, reusing its vectors' capacity (a warm training step allocates nothing).
void make_patch_layout(std::span<const int32_t> tokens, std::span<const int32_t> lengths, int64_t B, int64_t N,
                       int64_t P, int32_t eos_id, PatchLayout& out);

// Encoder cross-attention, patches as queries: out (B, P·k).
void encoder_cross_ranges(const PatchLayout& l, int64_t k, std::optional<int64_t> window, std::span<ops::KeyRange> out);
// Decoder cross-attention, bytes as queries over P·k slots: out (B, N).
void decoder_cross_ranges(const PatchLayout& l, int64_t k, std::optional<int64_t> window, std::span<ops::KeyRange> out);

}  // namespace blt::patching
