// cpuid leaf 7 (subleaves 0 and 1) for the feature bits, xgetbv(0) for the OS-enabled state.
// Answers are computed once (function-local statics). Not x86: no feature.
#include "blas/cpu_features.h"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace blt::blas {

namespace {

struct Features {
  bool avx512_bf16 = false;
  bool amx_bf16 = false;
  bool avx512_core = false;
  bool avx2_fma = false;
};

#if defined(__x86_64__) || defined(__i386__)
uint64_t xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Features detect() {
  Features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return f;  // OSXSAVE: xgetbv is usable
  const uint64_t xcr = xcr0();
  const bool fma = c & (1u << 12);
  const bool ymm_state = (xcr & 0x6) == 0x6;                       // SSE, AVX
  const bool zmm_state = (xcr & 0xe6) == 0xe6;                     // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  const bool tile_state = (xcr & (3ull << 17)) == (3ull << 17);   // XTILECFG, XTILEDATA
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = b & (1u << 5), avx512f = b & (1u << 16), avx512dq = b & (1u << 17);
  const bool avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  const bool avx512bf16 = a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && (a1 & (1u << 5));
  f.avx512_bf16 = zmm_state && avx512f && avx512bw && avx512bf16;
  f.amx_bf16 = tile_state && amx_tile && amx_bf16;
  f.avx512_core = zmm_state && avx512f && avx512bw && avx512dq && avx512vl;
  f.avx2_fma = ymm_state && avx2 && fma;
  return f;
}
#else
Features detect() { return {}; }
#endif

const Features& features() {
  static const Features f = detect();
  return f;
}

}  // namespace

bool cpu_has_avx512_bf16() { return features().avx512_bf16; }
bool cpu_has_amx_bf16() { return features().amx_bf16; }
bool cpu_has_avx512_core() { return features().avx512_core; }
bool cpu_has_avx2_fma() { return features().avx2_fma; }

}  // namespace blt::blas
