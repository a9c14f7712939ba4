// `blt bench core`: sgemm peak vs linear and attention throughput (and the bf16 peak).
#include "bench/core_bench.h"

#include <cmath>

#include "bench/bf16_peak.h"
#include "bench/sgemm_peak.h"
#include "bench/timing.h"
#include "blas/gemm.h"
#include "blas/gemm_bf16.h"
#include "core/graph.h"
#include "core/rng.h"
#include "ops/attention.h"
#include "ops/linear.h"
#include "ops/mask.h"

namespace blt::bench {

namespace {

Tensor random(Shape s, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(s, DType::F32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(rng.uniform() - 0.5);
  return t;
}

struct LinearShape {
  int64_t in, out;
};

// GFLOP/s of ops::linear forward + backward through the tape (three GEMMs per shape) at `p`: in bf16 the
// weight's bf16 copy is made once, as the registry's mirror is (once per optimizer step, not per call).
double linear_fwd_bwd_gflops(const std::vector<LinearShape>& shapes, int64_t N, Precision p, double min_seconds) {
  double flops = 0, secs = 0;
  for (const LinearShape& s : shapes) {
    Tensor x = random(Shape{N, s.in}, 3), w = random(Shape{s.out, s.in}, 4);
    Tensor dx = Tensor::zeros(x.shape()), dw = Tensor::zeros(w.shape());
    Tensor w_bf16 = Tensor::empty(w.shape(), DType::BF16);
    blas::to_bf16(w.data<float>(), w_bf16.data<bf16>(), w.numel());
    Graph g;
    g.set_precision(p);
    secs += best_seconds(
        [&] {
          g.reset();
          ops::linear(g, Var{x.view(), dx.view()}, Var{w.view(), dw.view()},
                      p == Precision::BF16 ? w_bf16.view() : TensorView{});
          g.backward();  // dy: zeros, created when the backward first reads it
        },
        min_seconds / 3);
    flops += 6.0 * N * s.in * s.out;
  }
  return flops / secs / 1e9;
}

struct AttnFigures {
  double fwd, fwd_bwd;
};

// Attention at T, causal within a window, run at precision p: GFLOP/s of the forward and of forward +
// backward. FLOPs count unmasked pairs only (4·Dh forward, 8·Dh backward).
AttnFigures attention_gflops(const CoreBenchOptions& opt, Precision p) {
  const int64_t T = opt.attn_seq, H = opt.heads, Dh = opt.head_dim;
  Tensor q = random(Shape{1, T, H, Dh}, 5), k = random(Shape{1, T, H, Dh}, 6), v = random(Shape{1, T, H, Dh}, 7);
  Tensor dq = Tensor::zeros(q.shape()), dk = Tensor::zeros(k.shape()), dv = Tensor::zeros(v.shape());
  const auto ranges = ops::causal_ranges(T, opt.attn_window);
  const double pair_flops = 4.0 * Dh * H * ops::attention_pairs(ranges);
  const double scale = 1 / std::sqrt(static_cast<double>(Dh));
  Graph g;
  g.set_precision(p);
  g.set_recording(false);
  const double fwd_s = best_seconds(
      [&] {
        g.reset();
        ops::attention(g, Graph::constant(q), Graph::constant(k), Graph::constant(v), ranges, scale);
      },
      opt.min_seconds);
  g.set_recording(true);
  const double fwd_bwd_s = best_seconds(
      [&] {
        g.reset();
        ops::attention(g, Var{q.view(), dq.view()}, Var{k.view(), dk.view()}, Var{v.view(), dv.view()}, ranges,
                       scale);
        g.backward();  // dout: zeros, created when the backward first reads it
      },
      opt.min_seconds);
  return {pair_flops / fwd_s / 1e9, 3 * pair_flops / fwd_bwd_s / 1e9};
}

}  // namespace

nlohmann::json run_core_bench(const CoreBenchOptions& opt) {
  const int64_t N = opt.tokens, D = opt.dim;
  // The transformer's linear shapes: attention projections and the FFN (hidden ≈ 8/3·D).
  const int64_t F = 256 * ((8 * D / 3 + 255) / 256);
  const std::vector<LinearShape> shapes = {{D, D}, {D, F}, {F, D}};

  // 1. cblas_sgemm alone at those shapes: C (N,out) = X (N,in) · Wᵀ.
  const double sgemm = sgemm_gflops(N, D, F, opt.min_seconds);

  // 2. ops::linear forward + backward through the tape (three GEMMs per layer).
  const double linear = linear_fwd_bwd_gflops(shapes, N, Precision::F32, opt.min_seconds);

  // 3. Attention (fp32).
  const int64_t T = opt.attn_seq, H = opt.heads, Dh = opt.head_dim;
  const auto [attn_fwd, attn_fwd_bwd] = attention_gflops(opt, Precision::F32);

  nlohmann::json r{
      {"threads", blas::num_threads()},
      {"linear_shapes", {{"tokens", N}, {"dim", D}, {"ffn_hidden", F}}},
      {"attention_shape", {{"seq", T}, {"window", opt.attn_window}, {"heads", H}, {"head_dim", Dh}}},
      {"sgemm_gflops", sgemm},
      {"linear_fwd_bwd_gflops", linear},
      {"attn_fwd_gflops", attn_fwd},
      {"attn_fwd_bwd_gflops", attn_fwd_bwd},
      {"linear_fwd_bwd_ratio", linear / sgemm},
      {"attn_fwd_ratio", attn_fwd / sgemm},
      {"attn_fwd_bwd_ratio", attn_fwd_bwd / sgemm},
  };

  // 4. bf16 (--precision bf16): the oneDNN bf16 matmul peak at the linear shapes of 1., with oneDNN's f32
  // matmul beside it (fp32 stays on OpenBLAS unless that is faster).
  if (opt.precision == Precision::BF16) {
    const double bf16_peak = bf16_matmul_gflops(N, D, F, opt.min_seconds);
    r["precision"] = precision_name(opt.precision);
    r["bf16_isa"] = blas::bf16_isa();
    r["bf16_matmul_peak_gflops"] = bf16_peak;
    r["bf16_peak_vs_sgemm"] = bf16_peak / sgemm;
    r["onednn_f32_matmul_gflops"] = onednn_f32_matmul_gflops(N, D, F, opt.min_seconds);
    // bf16 attention: its products on the matrix engines (AMX tiles or VDPBF16PS), forward and backward.
    const auto [attn16_fwd, attn16_fwd_bwd] = attention_gflops(opt, Precision::BF16);
    r["attn_fwd_bf16_gflops"] = attn16_fwd;
    r["attn_fwd_bwd_bf16_gflops"] = attn16_fwd_bwd;
    r["attn_fwd_bf16_ratio"] = attn16_fwd / bf16_peak;
    r["attn_fwd_bwd_bf16_ratio"] = attn16_fwd_bwd / bf16_peak;
  }

  // 5. bf16 linear forward + backward, measured as in 2. on a BF16 graph, against the bf16 peak of 4.
  if (opt.precision == Precision::BF16) {
    const double linear16 = linear_fwd_bwd_gflops(shapes, N, Precision::BF16, opt.min_seconds);
    r["linear_fwd_bwd_bf16_gflops"] = linear16;
    r["linear_fwd_bwd_bf16_ratio"] = linear16 / r["bf16_matmul_peak_gflops"].get<double>();
    // the same three products alone on bf16 operands: what oneDNN gives the linear to start from
    const double products = bf16_linear_products_gflops(N, D, F, opt.min_seconds);
    r["bf16_linear_products_gflops"] = products;
    r["linear_fwd_bwd_bf16_vs_products"] = linear16 / products;
  }
  return r;
}

}  // namespace blt::bench
