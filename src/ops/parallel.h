// Loops that fork an OpenMP team only when it pays. Even a one-thread region
// (`#pragma omp parallel if (false)`) allocates a team inside libgomp, and a
// warm decoding step must allocate nothing, so small work and one-thread runs
// call the same body on the calling thread without entering OpenMP at all.
// Each body computes the same thing whichever thread runs it, so the serial
// and parallel paths give bit-identical results.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace blt::ops {

// Whether work (in any unit) above threshold should fork: true only with more than one thread to fork.
inline bool worth_forking(double work, double threshold) { return work > threshold && omp_get_max_threads() > 1; }

// body(tid, n_team) once per member of a team of up to n_threads; (0, 1) inline when n_threads <= 1.
template <class Body>
void run_team(int n_threads, Body&& body) {
  if (n_threads <= 1) {
    body(0, 1);
    return;
  }
#pragma omp parallel num_threads(n_threads)
  body(omp_get_thread_num(), omp_get_num_threads());
}

// body(begin, end) over disjoint contiguous blocks covering [0, n): one block each per thread when
// parallel, the whole range on the calling thread otherwise.
template <class Body>
void parallel_blocks(int64_t n, bool parallel, Body&& body) {
  run_team(parallel ? omp_get_max_threads() : 1, [&](int tid, int nt) { body(n * tid / nt, n * (tid + 1) / nt); });
}

// Σ term(i) over [0, n) in double: one partial sum per block of a team of at most 64 (parallel_blocks'
// split), added in block order, so the result depends only on the team size; on the calling thread when
// not parallel.
template <class Term>
double parallel_sum(int64_t n, bool parallel, Term&& term) {
  constexpr int kMaxBlocks = 64;
  double partial[kMaxBlocks] = {};
  int blocks = 1;
  run_team(parallel ? std::min(omp_get_max_threads(), kMaxBlocks) : 1, [&](int tid, int nt) {
    double s = 0;
    for (int64_t i = n * tid / nt; i < n * (tid + 1) / nt; ++i) s += term(i);
    partial[tid] = s;
    if (tid == 0) blocks = nt;
  });
  double total = 0;
  for (int b = 0; b < blocks; ++b) total += partial[b];
  return total;
}

enum class Schedule { Static, Dynamic };

// body(i) for every i in [0, n): an OpenMP loop with the given schedule when parallel, in order on the
// calling thread otherwise. Dynamic suits items of uneven cost (causal attention tiles).
template <Schedule S = Schedule::Static, class Body>
void parallel_for(int64_t n, bool parallel, Body&& body) {
  if (!parallel || omp_get_max_threads() == 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
  } else if constexpr (S == Schedule::Dynamic) {
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < n; ++i) body(i);
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}

}  // namespace blt::ops
