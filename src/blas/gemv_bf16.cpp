// blas::gemv_bf16: kRowsInFlight rows of B (the weight, stored (N,K)) stream through at once,
// 32 bf16 (one ZMM) per row and step, each step dotted with the same 32 bf16 of every row of A
// (VDPBF16PS: pairs of bf16 products added into float32 lanes); M·kRowsInFlight accumulators
// stay in registers and are summed across lanes at the end of the row group. The K tail is one
// masked load (zeros add nothing). Each output is one thread's fixed-order sum, so the bits do not
// depend on the thread count. Threads take contiguous runs of row groups: one stream each.
#include "blas/gemv_bf16.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "blas/cpu_features.h"

#define BLT_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))

namespace blt::blas {

namespace {

constexpr int64_t kRowsInFlight = 4;  // lane_sums reduces four at once
constexpr int64_t kLanes = 32;        // bf16 per ZMM

// 32 bf16 from p, the lanes past the mask zeros. A full mask is a plain load: GCC 12 does not keep
// accumulators in registers across a loop of masked-load builtins (it stores them every step).
BLT_AVX512_BF16 inline __m512bh load_bf16(const bf16* p, __mmask32 mask) {
  return mask == ~__mmask32{0} ? (__m512bh)_mm512_loadu_si512(p)
                               : (__m512bh)_mm512_maskz_loadu_epi16(mask, p);
}

// acc[m * R + r] += A[m, k:k+32) · B[r, k:k+32), the lanes past the mask read as zeros.
template <int M, int R>
BLT_AVX512_BF16 inline void dot_step(__m512 (&acc)[M * R], int64_t k, __mmask32 mask, const bf16* A,
                                     int64_t lda, const bf16* B, int64_t ldb) {
  __m512bh b[R];
  for (int r = 0; r < R; ++r) b[r] = load_bf16(B + r * ldb + k, mask);
  for (int m = 0; m < M; ++m) {
    const __m512bh a = load_bf16(A + m * lda + k, mask);
    for (int r = 0; r < R; ++r) acc[m * R + r] = _mm512_dpbf16_ps(acc[m * R + r], a, b[r]);
  }
}

// (a0, a1, a2, a3) (16 lanes each) -> their four lane sums in out[0..3], in a fixed order. The maskz
// forms (all lanes) dodge GCC 12's false -Wmaybe-uninitialized on the plain ones (GCC bug 105593).
BLT_AVX512_BF16 inline void lane_sums(__m512 a0, __m512 a1, __m512 a2, __m512 a3, float (&out)[16]) {
  constexpr __mmask16 all = 0xffff;
  const __m512 t0 =
      _mm512_add_ps(_mm512_maskz_unpacklo_ps(all, a0, a1), _mm512_maskz_unpackhi_ps(all, a0, a1));
  const __m512 t1 =
      _mm512_add_ps(_mm512_maskz_unpacklo_ps(all, a2, a3), _mm512_maskz_unpackhi_ps(all, a2, a3));
  // each 128-bit lane now holds partial sums of (a0, a1, a2, a3)
  __m512 u = _mm512_add_ps(_mm512_shuffle_ps(t0, t1, 0x44), _mm512_shuffle_ps(t0, t1, 0xee));
  u = _mm512_add_ps(u, _mm512_maskz_shuffle_f32x4(all, u, u, 0x4e));
  u = _mm512_add_ps(u, _mm512_maskz_shuffle_f32x4(all, u, u, 0xb1));
  _mm512_storeu_ps(out, u);
}

// A (M,K), R rows of B (R,K) -> C (M,R): C = alpha·A·Bᵀ + beta·C.
template <int M, int R>
BLT_AVX512_BF16 void dot_rows(int64_t K, float alpha, const bf16* A, int64_t lda, const bf16* B, int64_t ldb,
                              float beta, float* C, int64_t ldc) {
  __m512 acc[M * R];  // acc[m * R + r]: row m of A dotted with row r of B
  for (int i = 0; i < M * R; ++i) acc[i] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes) dot_step<M, R>(acc, k, ~__mmask32{0}, A, lda, B, ldb);
  if (k < K) dot_step<M, R>(acc, k, static_cast<__mmask32>((uint64_t{1} << (K - k)) - 1), A, lda, B, ldb);
  // No lambda here: a lambda does not take the function's target attribute, so without -mavx512f its
  // __m512 return would not compile. Accumulators past R read as zeros (lane_sums takes four).
  const __m512 zero = _mm512_setzero_ps();
  for (int m = 0; m < M; ++m) {
    const __m512* row = acc + m * R;
    float sums[16];
    lane_sums(row[0], R > 1 ? row[std::min(1, R - 1)] : zero, R > 2 ? row[std::min(2, R - 1)] : zero,
              R > 3 ? row[std::min(3, R - 1)] : zero, sums);
    for (int r = 0; r < R; ++r) {
      float& c = C[m * ldc + r];
      c = beta == 0.f ? alpha * sums[r] : alpha * sums[r] + beta * c;
    }
  }
}

// Rows [n0, n1) of B -> columns [n0, n1) of C.
template <int M>
void dot_range(int64_t n0, int64_t n1, int64_t K, float alpha, const bf16* A, int64_t lda, const bf16* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  int64_t n = n0;
  for (; n + kRowsInFlight <= n1; n += kRowsInFlight)
    dot_rows<M, kRowsInFlight>(K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc);
  for (; n < n1; ++n) dot_rows<M, 1>(K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc);
}

template <int M>
void gemv_rows(int64_t N, int64_t K, float alpha, const bf16* A, int64_t lda, const bf16* B, int64_t ldb,
               float beta, float* C, int64_t ldc) {
  const int64_t groups = (N + kRowsInFlight - 1) / kRowsInFlight;
  // One thread: no parallel region (libgomp allocates a team of one for every region it opens).
  if (omp_get_max_threads() == 1) return dot_range<M>(0, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    const int64_t n0 = groups * t / threads * kRowsInFlight;
    const int64_t n1 = std::min(N, groups * (t + 1) / threads * kRowsInFlight);
    dot_range<M>(n0, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

// gemv_rows<1> ... gemv_rows<kGemvMaxRows>, indexed by M - 1.
template <int... I>
constexpr auto kernels(std::integer_sequence<int, I...>) {
  return std::array{&gemv_rows<I + 1>...};
}

}  // namespace

bool has_gemv_bf16() {
  static const bool has = cpu_has_avx512_bf16();
  return has;
}

void gemv_bf16(int64_t M, int64_t N, int64_t K, float alpha, const bf16* A, int64_t lda, const bf16* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  static constexpr auto by_rows = kernels(std::make_integer_sequence<int, static_cast<int>(kGemvMaxRows)>{});
  by_rows[static_cast<size_t>(M - 1)](N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace blt::blas
