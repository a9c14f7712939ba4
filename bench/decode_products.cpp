// Decoding's one-row product rates (see decode_products.h).
#include "bench/decode_products.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "blas/gemm.h"
#include "blas/gemm_f32_bf16.h"
#include "core/bf16.h"
#include "core/error.h"

namespace blt::bench {

namespace {

// Best GB/s of `passes` timed passes of product(c) over copies c = 0..copies-1 of `bytes_each` bytes.
template <class F>
double best_gb_s(int passes, int64_t copies, int64_t bytes_each, F&& product) {
  double best = 1e300;
  for (int p = 0; p <= passes; ++p) {  // pass 0 untimed: pages, caches, thread team
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t c = 0; c < copies; ++c) product(c);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (p > 0) best = std::min(best, s);
  }
  return static_cast<double>(copies * bytes_each) / best / 1e9;
}

}  // namespace

DecodeProductRates decode_product_rates(const DecodeProductOptions& opt) {
  const int64_t NK = opt.N * opt.K;
  if (opt.N < 1 || opt.K < 1 || opt.passes < 1 || opt.bytes < 4 * NK)
    throw ConfigError("decode products: needs N, K and passes >= 1 and room for one float32 matrix (got N " +
                      std::to_string(opt.N) + ", K " + std::to_string(opt.K) + ", " +
                      std::to_string(opt.bytes) + " bytes, " + std::to_string(opt.passes) + " passes)");
  const int64_t copies = opt.bytes / (4 * NK);
  std::vector<float> x(static_cast<size_t>(opt.K), 0.5f), y(static_cast<size_t>(opt.N));
  DecodeProductRates r;
  {
    std::vector<float> w(static_cast<size_t>(copies * NK), 0.25f);
    r.f32_weights_gb_s = best_gb_s(opt.passes, copies, 4 * NK, [&](int64_t c) {
      blas::gemm<float>(false, true, 1, opt.N, opt.K, 1.f, x.data(), opt.K, w.data() + c * NK, opt.K, 0.f,
                        y.data(), opt.N);
    });
  }
  std::vector<bf16> w(static_cast<size_t>(2 * copies * NK),
                      to_bf16(0.25f));  // the same bytes: twice the copies
  r.bf16_weights_gb_s = best_gb_s(opt.passes, 2 * copies, 2 * NK, [&](int64_t c) {
    blas::gemm_f32_bf16(1, opt.N, opt.K, 1.f, x.data(), opt.K, w.data() + c * NK, opt.K, 0.f, y.data(),
                        opt.N);
  });
  return r;
}

}  // namespace blt::bench
