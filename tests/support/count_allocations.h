// Counting heap allocations in a test binary: count_allocations.cpp replaces
// the C allocation functions (malloc, calloc, realloc, aligned_alloc,
// posix_memalign, memalign; operator new reaches them too) with counting
// forwards to glibc, and operator new apart, counting only while a
// CountAllocations is alive, on every thread, and recording a raw backtrace
// of each counted allocation.
// Link it only into binaries of their own (it replaces the allocator of the
// whole binary). Sanitizer builds keep their own allocator: the hook is off
// there (BLT_COUNT_ALLOCATIONS 0) and tests skip.
#pragma once

#include <cstdint>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BLT_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define BLT_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef BLT_COUNT_ALLOCATIONS
#define BLT_COUNT_ALLOCATIONS 1
#endif

namespace blt::test {

// Counts allocations (every thread) while alive.
class CountAllocations {
 public:
  CountAllocations();
  ~CountAllocations();
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;
  // Every allocation: the C functions and operator new, ours and third-party code's (OpenBLAS, libgomp).
  int64_t count() const;
  // operator new only: the C++ allocations, which third-party C code (OpenBLAS, libgomp) never makes.
  int64_t count_new() const;
  // Those of count() made by OpenBLAS's own code (its caller inside the loaded libopenblas): scratch it
  // mallocs and frees within one call (the SkylakeX/Cooperlake small-matrix sgemm, for one, copies a few
  // rows of A per call). Known once prepare_allocation_backtraces() has run.
  int64_t count_by_openblas() const;
};

// Loads the unwinder (backtrace() allocates on first use) and finds OpenBLAS: call once before counting.
void prepare_allocation_backtraces();

// The first n recorded allocation sites, each distinct call chain once with its count, to stderr (raw
// frames: c++filt demangles them, addr2line -Cfe <binary> resolves the offsets).
void print_allocation_sites(int64_t n);

}  // namespace blt::test
