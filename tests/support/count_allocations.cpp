// The allocation-counting hook of count_allocations.h.
#include "support/count_allocations.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_count{0}, g_new_count{0}, g_openblas_count{0};
uintptr_t g_openblas_lo = 0, g_openblas_hi = 0;  // the loaded OpenBLAS's address range (0, 0: not found)
thread_local bool t_inside = false;  // backtrace() may allocate: do not count (or recurse into) that

constexpr int kSites = 4096, kFrames = 10;  // the allocations recorded, innermost frames of each
void* g_frames[kSites][kFrames];
int g_depth[kSites];
size_t g_size[kSites];

// caller: the return address of the allocation function (the code that called it).
void note(size_t bytes, const void* caller, bool from_new = false) {
  if (!g_counting.load(std::memory_order_relaxed) || t_inside) return;
  t_inside = true;
  if (from_new) g_new_count.fetch_add(1);
  const auto at = reinterpret_cast<uintptr_t>(caller);
  if (at >= g_openblas_lo && at < g_openblas_hi) g_openblas_count.fetch_add(1);
  const int64_t i = g_count.fetch_add(1);
  if (i < kSites) {
    g_size[i] = bytes;
    g_depth[i] = backtrace(g_frames[i], kFrames);
  }
  t_inside = false;
}
}  // namespace

#if BLT_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

void* malloc(size_t n) noexcept {
  note(n, __builtin_return_address(0));
  return __libc_malloc(n);
}
void* calloc(size_t k, size_t n) noexcept {
  note(k * n, __builtin_return_address(0));
  return __libc_calloc(k, n);
}
void* realloc(void* p, size_t n) noexcept {
  note(n, __builtin_return_address(0));
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t align, size_t n) noexcept {
  note(n, __builtin_return_address(0));
  return __libc_memalign(align, n);
}
void* memalign(size_t align, size_t n) noexcept {
  note(n, __builtin_return_address(0));
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) noexcept {
  note(n, __builtin_return_address(0));
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}

// operator new, counted once (here, not again in malloc); libstdc++'s array and nothrow forms call these.
// The default operator delete frees with free(), which these blocks come from.
void* operator new(size_t n) {
  note(n, __builtin_return_address(0), true);
  void* p = __libc_malloc(n ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(size_t n, std::align_val_t align) {
  note(n, __builtin_return_address(0), true);
  void* p = __libc_memalign(static_cast<size_t>(align), n ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
#endif

namespace blt::test {

CountAllocations::CountAllocations() {
  g_count = 0;
  g_new_count = 0;
  g_openblas_count = 0;
  g_counting = true;
}
CountAllocations::~CountAllocations() { g_counting = false; }
int64_t CountAllocations::count() const { return g_count.load(); }
int64_t CountAllocations::count_new() const { return g_new_count.load(); }
int64_t CountAllocations::count_by_openblas() const { return g_openblas_count.load(); }

void prepare_allocation_backtraces() {
  void* frames[4];
  backtrace(frames, 4);
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) {
        if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, "libopenblas") == nullptr) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          const uintptr_t lo = info->dlpi_addr + ph.p_vaddr, hi = lo + ph.p_memsz;
          g_openblas_lo = g_openblas_lo == 0 ? lo : std::min(g_openblas_lo, lo);
          g_openblas_hi = std::max(g_openblas_hi, hi);
        }
        return 1;
      },
      nullptr);
}

void print_allocation_sites(int64_t n) {
  n = std::min<int64_t>(n, kSites);
  std::vector<bool> shown(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (shown[i]) continue;
    int64_t same = 0;
    size_t bytes = 0;
    for (int64_t j = i; j < n; ++j)
      if (!shown[j] && g_depth[j] == g_depth[i] &&
          std::equal(g_frames[i], g_frames[i] + g_depth[i], g_frames[j])) {
        shown[j] = true;
        ++same;
        bytes += g_size[j];
      }
    fprintf(stderr, "%lld allocations (%zu bytes in all) at\n", static_cast<long long>(same), bytes);
    backtrace_symbols_fd(g_frames[i], g_depth[i], STDERR_FILENO);
  }
}

}  // namespace blt::test
