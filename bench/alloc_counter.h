// Heap-allocation counter for benchmarks: bench/alloc_counter.cpp replaces
// the global operator new/delete family for the whole binary that links it
// (the `blt` tool, through blt_bench), and counts every operator new call
// with one relaxed atomic increment; the memory comes from malloc /
// posix_memalign and goes back to free, as the default operators do.
//
// Why this and not mallinfo2(): mallinfo2 reports bytes in use, not calls,
// and misses nothing only while no block is freed in between; a call count
// is what "allocations per generation step" means. It covers the project's
// raw buffers too: every Storage (core/tensor.cpp's aligned_alloc) is owned
// through make_shared / make_unique, so each new buffer also costs one
// operator new. Direct malloc calls by third-party code (OpenBLAS, OpenMP)
// are not counted.
#pragma once

#include <cstdint>

namespace blt::bench {

// operator new calls so far, every thread together.
uint64_t allocation_count() noexcept;

}  // namespace blt::bench
