// sgemm peak at model shapes.
#include "bench/sgemm_peak.h"

#include "blas/gemm.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace blt::bench {

double sgemm_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds) {
  Rng rng(1);
  auto random = [&](Shape s) {
    Tensor t = Tensor::empty(s, DType::F32);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(rng.uniform() - 0.5);
    return t;
  };
  return linear_shapes_gflops(rows, dim, ffn, min_seconds, [&](int64_t in, int64_t out) {
    return [rows, in, out, x = random(Shape{rows, in}), w = random(Shape{out, in}), y = Tensor::empty(Shape{rows, out})] {
      blas::gemm<float>(false, true, rows, out, in, 1.f, x.data<float>(), in, w.data<float>(), in, 0.f,
                        y.data<float>(), out);
    };
  });
}

}  // namespace blt::bench
