// Entropy model inference and training throughput vs sgemm peak.
#include "bench/entropy_bench.h"

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

  // Inference: entropies of B chunks of T tokens per call.
  lm::EntropyComputer ec(model, {T, B});
  const double inf_s = best_seconds([&] { ec.compute(x); }, opt.min_seconds);

  Graph probe;
  probe.set_recording(false);
  model.forward(probe, x, B, T);
  const double inf_flops = probe.flops().total_forward();

  // Training step: forward, loss, backward, clipping, AdamW.
  train::AdamW adam(reg, {});
  Graph g;
  double step_flops = 0;
  const double train_s = best_seconds(
      [&] {
        g.reset();
        g.flops().clear();
        reg.zero_grad();
        g.backward(ops::cross_entropy(g, model.forward(g, x, B, T), y, ops::Reduction::Mean));
        train::clip_grad_norm(reg, 1.0);
        adam.step(1e-4);
        step_flops = g.flops().total_forward() + g.flops().total_backward();
      },
      opt.min_seconds);
  

  const double sgemm = sgemm_gflops(B * T, s.dim, a.ffn_hidden(), opt.min_seconds);
  const double inf_gflops = inf_flops / inf_s / 1e9, train_gflops = step_flops / train_s / 1e9;
  return {{"dim", s.dim},
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
}

}  // namespace

nlohmann::json run_entropy_bench(const EntropyBenchOptions& opt) {
  nlohmann::json out = {{"threads", blas::num_threads()}, {"sizes", nlohmann::json::array()}};
  for (const Size& s : {Size{256, 4, 512}, Size{512, 8, 1024}}) out["sizes"].push_back(bench_size(s, opt));
  return out;
}

}  // namespace blt::bench
