// bf16 matmul peak and oneDNN f32 matmul at model shapes.
#include "bench/bf16_peak.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "bench/sgemm_peak.h"
#include "blas/gemm_bf16.h"
#include "core/rng.h"
#include "ops/linear.h"

namespace blt::bench {

namespace {

std::vector<float> random_floats(Rng& rng, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(rng.uniform() - 0.5);
  return v;
}

std::vector<bf16> random_bf16(Rng& rng, int64_t n) {
  const std::vector<float> f = random_floats(rng, n);
  std::vector<bf16> b(f.size());
  blas::to_bf16(f.data(), b.data(), n);
  return b;
}

}  // namespace

double bf16_matmul_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds) {
  Rng rng(1);
  return linear_shapes_gflops(rows, dim, ffn, min_seconds, [&](int64_t in, int64_t out) {
    return [rows, in, out, x = random_bf16(rng, rows * in), w = random_bf16(rng, out * in),
            y = std::vector<float>(static_cast<size_t>(rows * out))]() mutable {
      blas::gemm_bf16(false, true, rows, out, in, 1.f, x.data(), in, w.data(), in, 0.f, y.data(), out);
    };
  });
}

double bf16_linear_products_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds) {
  Rng rng(2);
  const double gflops = linear_shapes_gflops(rows, dim, ffn, min_seconds, [&](int64_t in, int64_t out) {
    return [rows, in, out, x = random_bf16(rng, rows * in), w = random_bf16(rng, out * in),
            dy = random_bf16(rng, rows * out), y = std::vector<float>(static_cast<size_t>(rows * out)),
            dx = std::vector<float>(static_cast<size_t>(rows * in)),
            dw = std::vector<float>(static_cast<size_t>(out * in))]() mutable {
      ops::linear_forward_bf16(x.data(), w.data(), y.data(), rows, in, out);
      ops::linear_backward_bf16(x.data(), w.data(), dy.data(), dx.data(), dw.data(), rows, in, out);
    };
  });
  return 3 * gflops;  // linear_shapes_gflops counts one product's FLOPs per call
}

// x (rows,in) · Wᵀ with W stored (out,in): the weights' (in,out) view has strides {1, in}.
double onednn_f32_matmul_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds) {
  using dnnl::memory;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  Rng rng(1);
  return linear_shapes_gflops(rows, dim, ffn, min_seconds, [&](int64_t in, int64_t out) {
    const memory::desc xd({rows, in}, memory::data_type::f32, memory::dims{in, 1});
    const memory::desc wd({in, out}, memory::data_type::f32, memory::dims{1, in});
    const memory::desc yd({rows, out}, memory::data_type::f32, memory::dims{out, 1});
    return [&stream, x = random_floats(rng, rows * in), w = random_floats(rng, out * in),
            y = std::vector<float>(static_cast<size_t>(rows * out)),
            mm = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(xd, wd, yd), engine)), xd, wd, yd,
            engine]() mutable {
      memory xm(xd, engine, x.data()), wm(wd, engine, w.data()), ym(yd, engine, y.data());
      mm.execute(stream, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}});
      stream.wait();
    };
  });
}

}  // namespace blt::bench
