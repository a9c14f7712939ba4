// dK and dV of the bf16 attention backwards (attention_amx_bwd.cpp, attention_avx512bf16_bwd.cpp; head dims
// up to amx::kMaxDh): each
// thread of the team accumulates them privately in f32, per (batch, kv head) a dK block then a dV block
// of amx::blocks_per_head(d) floats (keys padded to 32, key j's row at j·Dh), and the threads' blocks
// are summed into dk and dv in thread order at the end (deterministic for a fixed thread count).
#pragma once

#include <cstdint>

#include "ops/attention.h"

namespace blt::ops::detail {

struct PrivateKv {
  float* acc;          // n_threads accumulators, per_thread floats apart (not zeroed)
  int64_t per_thread;  // B·Hkv·2·blocks_per_head(d)
};

// The calling thread's buffer for n_threads accumulators (grown as needed, kept between calls): backward
// passes running at once on different threads never share it.
PrivateKv private_kv(const AttnDims& d, int n_threads);

// dk, dv (B,Tk,Hkv,Dh) += Σ over the first n_acc accumulators of kv, in thread order; either may be null.
void sum_private_kv(const AttnDims& d, const PrivateKv& kv, int n_acc, float* dk, float* dv, bool parallel);

}  // namespace blt::ops::detail
