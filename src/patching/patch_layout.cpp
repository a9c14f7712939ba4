// Patch ids, segments, decoder ids, global tokens and cross-attention ranges.
#include "patching/patch_layout.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace blt::patching {

PatchLayout make_patch_layout(std::span<const int32_t> tokens, std::span<const int32_t> lengths, int64_t B, int64_t N,
                              int64_t P, int32_t eos_id) {
  PatchLayout l;
  make_patch_layout(tokens, lengths, B, N, P, eos_id, l);
  return l;
}

void make_patch_layout(std::span<const int32_t> tokens, std::span<const int32_t> lengths, int64_t B, int64_t N,
                       int64_t P, int32_t eos_id, PatchLayout& l) {
  if (static_cast<int64_t>(tokens.size()) != B * N || static_cast<int64_t>(lengths.size()) != B * P)
    throw ShapeError("[patch_layout] " + std::to_string(tokens.size()) + " tokens and " +
                     std::to_string(lengths.size()) + " lengths for B=" + std::to_string(B) + ", N=" +
                     std::to_string(N) + ", P=" + std::to_string(P));
  l.B = B;
  l.N = N;
  l.P = P;
  l.lengths.assign(lengths.begin(), lengths.end());
  l.patch_ids.resize(B * N);
  l.offsets.resize(B * (P + 1));
  l.decoder_patch_ids.resize(B * N);
  l.global_tokens.assign(B * P, 0);
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* len = lengths.data() + b * P;
    int64_t sum = 0;
    for (int64_t p = 0; p < P; ++p) {
      if (len[p] < 0) throw Error("patch lengths of row " + std::to_string(b) + ": negative length at patch " + std::to_string(p));
      sum += len[p];
    }
    if (sum != N && sum != N + 1)
      throw Error("patch lengths of row " + std::to_string(b) + " sum to " + std::to_string(sum) + ", not to the " +
                  std::to_string(N) + " bytes of the row (or " + std::to_string(N + 1) + " with the next byte)");
    if (P == 0 || len[0] != 1)
      throw Error("patch lengths of row " + std::to_string(b) +
                  ": the first patch must hold exactly one byte (the BLT decoder reads patch p-1 from patch p on)");
    int32_t* off = l.offsets.data() + b * (P + 1);
    off[0] = 0;
    for (int64_t p = 0; p < P; ++p) off[p + 1] = static_cast<int32_t>(std::min<int64_t>(off[p] + len[p], N));
    // Patch ids: zero-length patches are skipped; positions are all covered since sum >= N.
    int64_t p = 0, end = len[0];
    for (int64_t t = 0; t < N; ++t) {
      while (t >= end) end += len[++p];
      l.patch_ids[b * N + t] = static_cast<int32_t>(p);
      if (tokens[b * N + t] == eos_id) l.global_tokens[b * P + p] = eos_id;
    }
    // Decoder ids: patch ids of lengths[1:] (the first patch, the lone first byte, is dropped):
    // the largest d <= P-1 with cum_d <= t, where cum_d = len[1] + ... + len[d].
    int64_t d = 0, cum = 0;
    for (int64_t t = 0; t < N; ++t) {
      while (d + 1 <= P - 1 && cum + len[d + 1] <= t) cum += len[++d];
      l.decoder_patch_ids[b * N + t] = static_cast<int32_t>(d);
    }
  }
}

void encoder_cross_ranges(const PatchLayout& l, int64_t k, std::optional<int64_t> window, std::span<ops::KeyRange> out) {
  if (static_cast<int64_t>(out.size()) != l.B * l.P * k) throw ShapeError("[patch_layout] encoder ranges buffer");
  const int64_t w = window.value_or(1);
  for (int64_t b = 0; b < l.B; ++b) {
    const int32_t* off = l.offsets.data() + b * (l.P + 1);
    for (int64_t p = 0; p < l.P; ++p) {
      const ops::KeyRange r{off[std::max<int64_t>(0, p - w + 1)], off[p + 1]};
      for (int64_t j = 0; j < k; ++j) out[(b * l.P + p) * k + j] = r;
    }
  }
}

void decoder_cross_ranges(const PatchLayout& l, int64_t k, std::optional<int64_t> window, std::span<ops::KeyRange> out) {
  if (static_cast<int64_t>(out.size()) != l.B * l.N) throw ShapeError("[patch_layout] decoder ranges buffer");
  const int64_t w = window.value_or(1);
  for (int64_t i = 0; i < l.B * l.N; ++i) {
    const int64_t d = l.decoder_patch_ids[i];
    out[i] = ops::KeyRange{static_cast<int32_t>(std::max<int64_t>(0, d - w + 1) * k), static_cast<int32_t>((d + 1) * k)};
  }
}

}  // namespace blt::patching
