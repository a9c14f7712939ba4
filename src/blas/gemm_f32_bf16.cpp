// blas::gemm_f32_bf16: a few rows to the streaming kernel (blas/gemv_f32.h), more to widened panels.
#include "blas/gemm_f32_bf16.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "blas/gemm.h"
#include "blas/gemm_bf16.h"
#include "blas/gemv_f32.h"
#include "core/error.h"

namespace blt::blas {

namespace {

constexpr int64_t kPanelFloats = 1 << 20;  // float32 weights widened per sgemm call (4 MiB)

// B widened kPanelFloats at a time into a buffer each thread keeps (it grows once, then a call allocates
// nothing), each panel's columns of C by cblas_sgemm.
void by_panels(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const bf16* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  thread_local std::vector<float> panel;
  const int64_t rows = std::clamp<int64_t>(kPanelFloats / K, 1, N);
  if (panel.size() < static_cast<size_t>(rows * K)) panel.resize(static_cast<size_t>(rows * K));
  for (int64_t n0 = 0; n0 < N; n0 += rows) {
    const int64_t nb = std::min(rows, N - n0);
    if (ldb == K) {
      to_float(B + n0 * ldb, panel.data(), nb * K);  // threaded for long arrays
    } else {
      for (int64_t r = 0; r < nb; ++r) to_float(B + (n0 + r) * ldb, panel.data() + r * K, K);
    }
    gemm<float>(false, true, M, nb, K, alpha, A, lda, panel.data(), K, beta, C + n0, ldc);
  }
}

void check_dims(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  const auto where = [&] {
    return "[gemm_f32_bf16] M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
           " lda=" + std::to_string(lda) + " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc);
  };
  const std::pair<const char*, int64_t> dims[] = {{"M", M}, {"N", N}, {"K", K}};
  for (const auto& [what, v] : dims)
    if (v < 0) throw ShapeError(where() + ": " + what + " is negative");
  const std::pair<const char*, std::pair<int64_t, int64_t>> lds[] = {
      {"lda", {lda, K}}, {"ldb", {ldb, K}}, {"ldc", {ldc, N}}};
  for (const auto& [what, ld] : lds)
    if (ld.first < std::max<int64_t>(1, ld.second))
      throw ShapeError(where() + ": " + what + " is below the row length " + std::to_string(ld.second));
}

}  // namespace

void gemm_f32_bf16(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const bf16* B,
                   int64_t ldb, float beta, float* C, int64_t ldc) {
  check_dims(M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta·C, and C is not read when beta is 0 (as in BLAS)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  if (M <= kGemvF32MaxRows && has_gemv_f32()) return gemv_f32(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  by_panels(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace blt::blas
