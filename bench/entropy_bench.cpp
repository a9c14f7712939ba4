// Entropy model inference and training throughput vs sgemm peak.
#include "bench/entropy_bench.h"

#include "bench/bf16_peak.h"
#include "bench/sgemm_peak.h"
#include "bench/timing.h"
#include "blas/gemm.h"
#include "lm/entropies.h"
#include "ops/cross_entropy.h"
#include "train/adamw.h"

namespace blt::bench {

namespace {

struct Size {
  int64_t dim, layers, seq;
};

// One precision's best seconds of an entropy computation over x (B,T) and of a training step on it.
struct Seconds {
  double inference = 0, train = 0;
  double step_flops = 0;
};

Seconds measure(const lm::LMTransformer& model, nn::ParamRegistry& reg, const std::vector<int32_t>& x,
                const std::vector<int32_t>& y, int64_t B, int64_t T, Precision p, double min_seconds) {
  if (p == Precision::BF16) reg.enable_bf16_mirror();  // before the EntropyComputer takes its precision
  Seconds s;
  // Inference: entropies of B chunks of T tokens per call.
  lm::EntropyComputer ec(model, {T, B});
  s.inference = best_seconds([&] { ec.compute(x); }, min_seconds);
  // Training step: forward, loss, backward, clipping, AdamW (and the bf16 mirror's refresh).
  train::AdamW adam(reg, {});
  Graph g;
  g.set_precision(p);
  s.train = best_seconds(
      [&] {
        g.reset();
        g.flops().clear();
        reg.zero_grad();
        g.backward(ops::cross_entropy(g, model.forward(g, x, B, T), y, ops::Reduction::Mean));
        train::clip_grad_norm(reg, 1.0);
        adam.step(1e-4);
        reg.refresh_bf16_mirror();
        s.step_flops = g.flops().total_forward() + g.flops().total_backward();
      },
      min_seconds);
  return s;
}

nlohmann::json bench_size(const Size& s, const EntropyBenchOptions& opt) {
  lm::LMTransformerArgs a;
  a.dim = s.dim;
  a.n_layers = s.layers;
  a.n_heads = s.dim / 64;
  a.max_seqlen = s.seq;
  a.sliding_window = 512;
  a.attn_bias_type = lm::AttnBias::LocalBlockCausal;
  nn::ParamRegistry reg;
  lm::LMTransformer model(a, reg);
  reg.allocate();
  Rng rng(3);
  reg.initialize(rng);
  const int64_t B = opt.batch, T = s.seq;
  std::vector<int32_t> x(B * T), y(B * T);
  for (auto& t : x) t = 4 + static_cast<int32_t>(rng.below(256));
  for (int64_t i = 0; i < B * T; ++i) y[i] = i + 1 < B * T ? x[i + 1] : 2;

  Graph probe;
  probe.set_recording(false);
  model.forward(probe, x, B, T);
  const double inf_flops = probe.flops().total_forward();

  const Seconds f32 = measure(model, reg, x, y, B, T, Precision::F32, opt.min_seconds);
  const double inf_s = f32.inference, train_s = f32.train, step_flops = f32.step_flops;
  const double sgemm = sgemm_gflops(B * T, s.dim, a.ffn_hidden(), opt.min_seconds);
  const double inf_gflops = inf_flops / inf_s / 1e9, train_gflops = step_flops / train_s / 1e9;
  nlohmann::json r = {{"dim", s.dim},
          {"n_layers", s.layers},
          {"seq_len", T},
          {"batch", B},
          {"parameters", reg.numel()},
          {"sgemm_gflops", sgemm},
          {"entropy_bytes_per_s", B * T / inf_s},
          {"entropy_gflops", inf_gflops},
          {"entropy_mfu", inf_gflops / sgemm},
          {"train_bytes_per_s", B * T / train_s},
          {"train_gflops", train_gflops},
          {"train_mfu", train_gflops / sgemm}};
  if (opt.precision == Precision::BF16) {
    const Seconds b = measure(model, reg, x, y, B, T, Precision::BF16, opt.min_seconds);
    const double peak = bf16_matmul_gflops(B * T, s.dim, a.ffn_hidden(), opt.min_seconds);
    r["bf16_matmul_peak_gflops"] = peak;
    r["bf16_entropy_bytes_per_s"] = B * T / b.inference;
    r["bf16_entropy_mfu"] = inf_flops / b.inference / 1e9 / peak;
    r["bf16_train_bytes_per_s"] = B * T / b.train;
    r["bf16_train_mfu"] = b.step_flops / b.train / 1e9 / peak;
    r["infer_speedup_vs_fp32"] = inf_s / b.inference;
    r["train_speedup_vs_fp32"] = train_s / b.train;
  }
  return r;
}

}  // namespace

nlohmann::json run_entropy_bench(const EntropyBenchOptions& opt) {
  nlohmann::json out = {{"threads", blas::num_threads()}, {"sizes", nlohmann::json::array()}};
  if (opt.precision == Precision::BF16) out["precision"] = precision_name(opt.precision);
  for (const Size& s : {Size{256, 4, 512}, Size{512, 8, 1024}}) out["sizes"].push_back(bench_size(s, opt));
  return out;
}

}  // namespace blt::bench
