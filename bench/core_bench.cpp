// `blt bench core`: sgemm peak vs linear and attention throughput.
#include "bench/core_bench.h"

#include <cmath>

#include "bench/sgemm_peak.h"
#include "bench/timing.h"
#include "blas/gemm.h"
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

}  // namespace

nlohmann::json run_core_bench(const CoreBenchOptions& opt) {
  const int64_t N = opt.tokens, D = opt.dim;
  // The transformer's linear shapes: attention projections and the FFN (hidden ≈ 8/3·D).
  const int64_t F = 256 * ((8 * D / 3 + 255) / 256);
  const std::vector<LinearShape> shapes = {{D, D}, {D, F}, {F, D}};

  // 1. cblas_sgemm alone at those shapes: C (N,out) = X (N,in) · Wᵀ.
  const double sgemm = sgemm_gflops(N, D, F, opt.min_seconds);

  // 2. ops::linear forward + backward through the tape (three GEMMs per layer).
  double flops = 0, secs = 0;
  for (const LinearShape& s : shapes) {
    Tensor x = random(Shape{N, s.in}, 3), w = random(Shape{s.out, s.in}, 4);
    Tensor dx = Tensor::zeros(x.shape()), dw = Tensor::zeros(w.shape());
    Graph g;
    secs += best_seconds(
        [&] {
          g.reset();
          Var y = ops::linear(g, Var{x.view(), dx.view()}, Var{w.view(), dw.view()});
          y.grad.zero();
          g.backward();
        },
        opt.min_seconds / 3);
    flops += 6.0 * N * s.in * s.out;
  }
  const double linear = flops / secs / 1e9;

  // 3. Attention at T, causal within a window; FLOPs count unmasked pairs only (4·Dh forward, 8·Dh backward).
  const int64_t T = opt.attn_seq, H = opt.heads, Dh = opt.head_dim;
  Tensor q = random(Shape{1, T, H, Dh}, 5), k = random(Shape{1, T, H, Dh}, 6), v = random(Shape{1, T, H, Dh}, 7);
  Tensor dq = Tensor::zeros(q.shape()), dk = Tensor::zeros(k.shape()), dv = Tensor::zeros(v.shape());
  const auto ranges = ops::causal_ranges(T, opt.attn_window);
  const double pair_flops = 4.0 * Dh * H * ops::attention_pairs(ranges);
  const double scale = 1 / std::sqrt(static_cast<double>(Dh));
  Graph g;
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
        Var o = ops::attention(g, Var{q.view(), dq.view()}, Var{k.view(), dk.view()}, Var{v.view(), dv.view()},
                               ranges, scale);
        o.grad.zero();
        g.backward();
      },
      opt.min_seconds);
  const double attn_fwd = pair_flops / fwd_s / 1e9, attn_fwd_bwd = 3 * pair_flops / fwd_bwd_s / 1e9;

  return nlohmann::json{
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
}

}  // namespace blt::bench
