// dK and dV of the lane-vector attention backwards (attention_amx_bwd.cpp, attention_avx512bf16_bwd.cpp,
// attention_f32_avx2_bwd.cpp; head dims up to amx::kMaxDh): each thread of the team accumulates them
// privately in f32, per (batch, kv head) a dK block then a dV block
// of amx::blocks_per_head(d) floats (keys padded to 32, key j's row at j·Dh), and the threads' blocks
// are summed into dk and dv in thread order at the end (deterministic for a fixed thread count).
#pragma once

#include <algorithm>
#include <cstdint>

#include "ops/attention.h"
#include "ops/parallel.h"

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

// A backward's team: body(tid, n_team, acc) on each of up to n_threads threads (1 unless parallel), acc
// the thread's private accumulator, zeroed (the team sees the caller's buffer through it); then dk, dv +=
// the accumulators in thread order.
template <class Body>
void kv_grad_team(const AttnDims& d, bool parallel, float* dk, float* dv, Body&& body) {
  const int n_threads = parallel ? omp_get_max_threads() : 1;
  const PrivateKv kv = private_kv(d, n_threads);
  int team = 1;
  run_team(n_threads, [&](int tid, int nt) {
    float* mine = kv.acc + kv.per_thread * tid;
    std::fill(mine, mine + kv.per_thread, 0.f);
    if (tid == 0) team = nt;
    body(tid, nt, mine);
  });
  sum_private_kv(d, kv, team, dk, dv, parallel);
}

}  // namespace blt::ops::detail
