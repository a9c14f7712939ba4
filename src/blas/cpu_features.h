// What this CPU and its operating system offer for bf16 (and for choosing OpenBLAS's kernels), read once at run time with cpuid
// and xgetbv (portable across GCC and clang, unlike __builtin_cpu_supports' feature names).
// A feature counts only when the OS also saves its register state (XCR0). Whether oneDNN
// may use AMX on Linux (the arch_prctl permission) is oneDNN's question: see gemm_bf16.cpp.
#pragma once

namespace blt::blas {

// AVX512F + AVX512BW + AVX512-BF16 (VCVTNEPS2BF16, VDPBF16PS), with the ZMM state enabled.
bool cpu_has_avx512_bf16();
// AMX-TILE + AMX-BF16, with the tile state enabled.
bool cpu_has_amx_bf16();
// AVX512F + AVX512BW + AVX512DQ + AVX512VL, with the ZMM state enabled.
bool cpu_has_avx512_core();
// AVX2 + FMA, with the YMM state enabled.
bool cpu_has_avx2_fma();

}  // namespace blt::blas
