// The context rule shared by cached and recompute-everything generation.
// When the context is full, the oldest part is dropped on a patch boundary
// and the kept window is fed again from scratch (a re-prefill): from then on
// the output equals recompute-everything on the kept window, not on the whole
// history. The kept window starts at the first patch start in
// [size - capacity/2, size), else exactly at size - capacity/2 (always for
// byte LMs), so it keeps at most half of the context and never nothing (a
// patch that opens at the next token is no cut point).
#pragma once

#include <cstdint>
#include <span>

namespace blt::gen {

// lengths (P): patch lengths of a context of n tokens (empty: no patches, cut anywhere) -> the first kept
// token. Always in (0, n) for n >= 2.
int64_t context_cut(std::span<const int32_t> lengths, int64_t n, int64_t capacity);

// A prompt of n tokens longer than `capacity` keeps its last capacity/2 tokens: -> the first kept one.
int64_t prompt_cut(int64_t n, int64_t capacity);

}  // namespace blt::gen
