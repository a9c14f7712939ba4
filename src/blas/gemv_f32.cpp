// blas::gemv_f32: R rows of B (the weight, stored (N,K)) stream through at once, 8 values per row and
// step (bf16 ones widened in registers: zero-extend, shift left 16), each step multiplied with the same 8
// floats of every row of A into M·R accumulators, summed across lanes at the end of the row group (the K
// tail in scalars after them). Threads take contiguous runs of row groups: one stream each. Inside a
// parallel region (a tiled attention's team) or on a small B the call stays on its thread. gemv_f32_nn (B
// not transposed) keeps blocks of C's columns in registers instead and adds one row of B per k, scaled by a
// broadcast of A[m,k] (threads split the columns).
#include "blas/gemv_f32.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <utility>

#include "blas/cpu_features.h"

#define BLT_AVX2 __attribute__((target("avx2,fma")))

namespace blt::blas {

namespace {

// Rows of B in flight for M rows of A: M·R accumulators + R rows of B + one row of A fit 16 registers.
constexpr int rows_in_flight(int M) {
  return M <= 2 ? 4 : M == 3 ? 3 : 2;
}

constexpr int64_t kLanes = 8;                  // floats per YMM
constexpr int64_t kThreadedWeights = 1 << 15;  // below this many weights one thread does it all

// 8 weights at p as floats (bf16: exact).
BLT_AVX2 inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
BLT_AVX2 inline __m256 load8(const bf16* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

inline float value(float w) {
  return w;
}
inline float value(bf16 w) {
  return blt::to_float(w);
}

// The sum of v's 8 lanes, in a fixed order.
BLT_AVX2 inline float lane_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// A (M,K), R rows of B (R,K) -> C (M,R): C = alpha·A·Bᵀ + beta·C.
template <int M, int R, class W>
BLT_AVX2 void dot_rows(int64_t K, float alpha, const float* A, int64_t lda, const W* B, int64_t ldb,
                       float beta, float* C, int64_t ldc) {
  __m256 acc[M * R];  // acc[m * R + r]: row m of A dotted with row r of B
  for (int i = 0; i < M * R; ++i) acc[i] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    __m256 b[R];
    for (int r = 0; r < R; ++r) b[r] = load8(B + r * ldb + k);
    for (int m = 0; m < M; ++m) {
      const __m256 a = _mm256_loadu_ps(A + m * lda + k);
      for (int r = 0; r < R; ++r) acc[m * R + r] = _mm256_fmadd_ps(a, b[r], acc[m * R + r]);
    }
  }
  for (int m = 0; m < M; ++m)
    for (int r = 0; r < R; ++r) {
      float s = lane_sum(acc[m * R + r]);
      for (int64_t t = k; t < K; ++t) s += A[m * lda + t] * value(B[r * ldb + t]);
      float& c = C[m * ldc + r];
      c = beta == 0.f ? alpha * s : alpha * s + beta * c;
    }
}

// Rows [n0, n1) of B -> columns [n0, n1) of C.
template <int M, class W>
void dot_range(int64_t n0, int64_t n1, int64_t K, float alpha, const float* A, int64_t lda, const W* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  constexpr int R = rows_in_flight(M);
  int64_t n = n0;
  for (; n + R <= n1; n += R) dot_rows<M, R>(K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc);
  for (; n < n1; ++n) dot_rows<M, 1>(K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc);
}

// f(n0, n1) over [0, N) of B's rows or C's columns, in contiguous runs of whole `unit`s, one per thread. On
// one thread, inside a parallel region (a tiled attention's team) or for fewer than kThreadedWeights
// weights, f(0, N) on this thread: no region (libgomp allocates a team of one for every region it opens).
template <class F>
void split_n(int64_t N, int64_t K, int64_t unit, F&& f) {
  if (omp_get_max_threads() == 1 || omp_in_parallel() || N * K < kThreadedWeights) return f(0, N);
  const int64_t units = (N + unit - 1) / unit;
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    f(units * t / threads * unit, std::min(N, units * (t + 1) / threads * unit));
  }
}

template <int M, class W>
void gemv_rows(int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const W* B, int64_t ldb,
               float beta, float* C, int64_t ldc) {
  split_n(N, K, rows_in_flight(M),
          [&](int64_t n0, int64_t n1) { dot_range<M>(n0, n1, K, alpha, A, lda, B, ldb, beta, C, ldc); });
}

// gemv_rows<1, W> ... gemv_rows<kGemvF32MaxRows, W>, indexed by M - 1.
template <class W, int... I>
constexpr auto kernels(std::integer_sequence<int, I...>) {
  return std::array{&gemv_rows<I + 1, W>...};
}

template <class W>
void run(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const W* B, int64_t ldb,
         float beta, float* C, int64_t ldc) {
  static constexpr auto by_rows =
      kernels<W>(std::make_integer_sequence<int, static_cast<int>(kGemvF32MaxRows)>{});
  by_rows[static_cast<size_t>(M - 1)](N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// C (M, 8·V columns) = alpha·A (M,K)·B (K, 8·V) + beta·C, B rows ldb apart: one k at a time, A[m,k] broadcast
// into M·V accumulators over V vectors of B's row k.
template <int M, int V>
BLT_AVX2 void axpy_cols(int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                        float beta, float* C, int64_t ldc) {
  __m256 acc[M * V];  // acc[m * V + v]: columns [8v, 8v + 8) of row m
  for (int i = 0; i < M * V; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m256 b[V];
    for (int v = 0; v < V; ++v) b[v] = _mm256_loadu_ps(B + k * ldb + v * kLanes);
    for (int m = 0; m < M; ++m) {
      const __m256 a = _mm256_broadcast_ss(A + m * lda + k);
      for (int v = 0; v < V; ++v) acc[m * V + v] = _mm256_fmadd_ps(a, b[v], acc[m * V + v]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  for (int m = 0; m < M; ++m)
    for (int v = 0; v < V; ++v) {
      float* c = C + m * ldc + v * kLanes;
      const __m256 y = _mm256_mul_ps(va, acc[m * V + v]);
      _mm256_storeu_ps(c, beta == 0.f ? y : _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), y));
    }
}

// Vectors of 8 columns a block takes for M rows of A: M·V accumulators, V vectors of B and a broadcast
// fit 16.
constexpr int cols_in_flight(int M) {
  return M == 1 ? 6 : M == 2 ? 4 : M == 3 ? 3 : 2;
}

// Columns [n0, n1) of C (n0 a multiple of 8): blocks of 8·V columns, then of 8, then one column at a time.
template <int M>
void axpy_range(int64_t n0, int64_t n1, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                int64_t ldb, float beta, float* C, int64_t ldc) {
  constexpr int64_t V = cols_in_flight(M);
  int64_t n = n0;
  for (; n + V * kLanes <= n1; n += V * kLanes)
    axpy_cols<M, V>(K, alpha, A, lda, B + n, ldb, beta, C + n, ldc);
  for (; n + kLanes <= n1; n += kLanes) axpy_cols<M, 1>(K, alpha, A, lda, B + n, ldb, beta, C + n, ldc);
  for (; n < n1; ++n)
    for (int m = 0; m < M; ++m) {
      float s = 0;
      for (int64_t k = 0; k < K; ++k) s += A[m * lda + k] * B[k * ldb + n];
      float& c = C[m * ldc + n];
      c = beta == 0.f ? alpha * s : alpha * s + beta * c;
    }
}

template <int M>
void axpy_rows(int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
               float beta, float* C, int64_t ldc) {
  split_n(N, K, kLanes,
          [&](int64_t n0, int64_t n1) { axpy_range<M>(n0, n1, K, alpha, A, lda, B, ldb, beta, C, ldc); });
}

template <int... I>
constexpr auto axpy_kernels(std::integer_sequence<int, I...>) {
  return std::array{&axpy_rows<I + 1>...};
}

}  // namespace

bool has_gemv_f32() {
  static const bool has = cpu_has_avx2_fma();
  return has;
}

void gemv_f32(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
              int64_t ldb, float beta, float* C, int64_t ldc) {
  run(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemv_f32(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const bf16* B,
              int64_t ldb, float beta, float* C, int64_t ldc) {
  run(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemv_f32_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float beta, float* C, int64_t ldc) {
  static constexpr auto by_rows =
      axpy_kernels(std::make_integer_sequence<int, static_cast<int>(kGemvF32MaxRows)>{});
  by_rows[static_cast<size_t>(M - 1)](N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace blt::blas
