// BLT throughput and memory.
#include "bench/blt_bench.h"

#include <sys/resource.h>

#include "bench/bf16_peak.h"
#include "bench/sgemm_peak.h"
#include "bench/timing.h"
#include "blas/gemm.h"
#include "model/blt.h"
#include "patching/row_patcher.h"
#include "ops/cross_entropy.h"
#include "train/adamw.h"

namespace blt::bench {

model::BltArgs blt_bench_args(int64_t seq_len, const std::string& patching_mode) {
  model::BltArgs a;
  a.dim_global = 512;
  a.n_layers_global = 8;
  a.n_heads_global = 8;
  a.dim_local_encoder = a.dim_local_decoder = 256;
  a.n_layers_local_encoder = 1;
  a.n_layers_local_decoder = 4;
  a.n_heads_local_encoder = a.n_heads_local_decoder = 4;
  a.max_seqlen = seq_len;
  a.max_encoder_seq_length = seq_len;
  a.local_attention_window_len = 512;
  a.attn_bias_type = "block_causal";
  a.encoder_hash_byte_group_size = {3, 4, 5, 6, 7, 8};
  a.encoder_hash_byte_group_nb_functions = 1;
  a.encoder_hash_byte_group_vocab = 4096;
  a.cross_attn_encoder = a.cross_attn_decoder = true;
  a.cross_attn_k = 2;
  a.cross_attn_nheads = 4;
  a.cross_attn_init_by_pooling = true;
  a.downsampling_by_pooling = "max";
  a.patching_mode = patching_mode;
  a.validate("bench");
  return a;
}

namespace {


// Word-like bytes: runs of 1..9 letters separated by spaces (space patches average ~5.5 bytes).
std::vector<int32_t> words(int64_t n, Rng& rng) {
  std::vector<int32_t> t(n);
  int64_t left = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (left == 0) {
      t[i] = ' ' + 4;
      left = 1 + static_cast<int64_t>(rng.below(9));
    } else {
      t[i] = 'a' + 4 + static_cast<int32_t>(rng.below(26));
      --left;
    }
  }
  t[0] = 1;
  return t;
}

double peak_rss_gib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is in KiB
}

// One precision's best training step (forward, loss, backward, clipping, AdamW and, in bf16, the mirror's
// refresh, as the trainer does) and inference forward over the same batch, and their executed FLOPs.
struct Throughput {
  double train_s = 0, step_flops = 0, inf_s = 0, inf_flops = 0;
  double rss_gib = 0;  // peak RSS after the training steps
};

Throughput measure(const model::ByteLatentTransformer& blt, nn::ParamRegistry& reg, const std::vector<int32_t>& x,
                   const std::vector<int32_t>& y, const patching::PatchLayout& layout, Precision p,
                   double min_seconds) {
  if (p == Precision::BF16) reg.enable_bf16_mirror();
  Throughput t;
  {  // the training graph is released before inference is measured
    train::AdamW adam(reg, {});
    Graph g;
    g.set_precision(p);
    t.train_s = best_seconds(
        [&] {
          g.reset();
          g.flops().clear();
          reg.zero_grad();
          g.backward(ops::cross_entropy(g, blt.forward(g, x, layout), y, ops::Reduction::Mean));
          train::clip_grad_norm(reg, 1.0);
          adam.step(1e-4);
          reg.refresh_bf16_mirror();
          t.step_flops = g.flops().total_forward() + g.flops().total_backward();
        },
        min_seconds);
    t.rss_gib = peak_rss_gib();
  }
  Graph inf;
  inf.set_recording(false);
  inf.set_precision(p);
  t.inf_s = best_seconds(
      [&] {
        inf.reset();
        inf.flops().clear();
        blt.forward(inf, x, layout);
        t.inf_flops = inf.flops().total_forward();
      },
      min_seconds);
  return t;
}

}  // namespace

nlohmann::json run_blt_bench(const BltBenchOptions& opt) {
  const int64_t B = opt.batch, N = opt.seq_len;
  const model::BltArgs args = blt_bench_args(N, "space");
  nn::ParamRegistry reg;
  model::ByteLatentTransformer blt(args, reg);
  reg.allocate();
  Rng rng(7);
  reg.initialize(rng);
  const std::vector<int32_t> x = words(B * N, rng);
  std::vector<int32_t> y(x.begin() + 1, x.end());
  y.push_back(2);
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Space;
  patching::RowPatcher patcher(pa, nullptr, args.eos_id);
  patching::PatchLayout layout;
  patcher.layout(x, B, N, layout);
  int64_t patches = 0;
  for (int32_t l : layout.lengths) patches += l > 0;

  const Throughput f32 = measure(blt, reg, x, y, layout, Precision::F32, opt.min_seconds);
  const double train_s = f32.train_s, step_flops = f32.step_flops, inf_s = f32.inf_s, inf_flops = f32.inf_flops;

  const int64_t ffn = args.decoder_args().ffn_hidden();
  const double sgemm = sgemm_gflops(B * N, args.dim_local_encoder, ffn, opt.min_seconds);
  nlohmann::json r = {{"threads", blas::num_threads()},
          {"config", {{"dim_global", args.dim_global}, {"n_layers_global", args.n_layers_global},
                      {"dim_local", args.dim_local_encoder}, {"n_layers_local_encoder", args.n_layers_local_encoder},
                      {"n_layers_local_decoder", args.n_layers_local_decoder}, {"parameters", reg.numel()},
                      {"batch", B}, {"seq_len", N}, {"patching", "space"},
                      {"mean_patch_size", static_cast<double>(B * (N + 1)) / static_cast<double>(patches)}}},
          {"sgemm_gflops", sgemm},
          {"train_bytes_per_s", B * N / train_s},
          {"train_gflops", step_flops / train_s / 1e9},
          {"train_mfu", step_flops / train_s / 1e9 / sgemm},
          {"eval_bytes_per_s", B * N / inf_s},
          {"eval_gflops", inf_flops / inf_s / 1e9},
          {"eval_mfu", inf_flops / inf_s / 1e9 / sgemm},
          {"peak_rss_gib", f32.rss_gib}};
  if (opt.precision == Precision::BF16) {  // after the fp32 figures: the peak RSS above is fp32's
    const Throughput b = measure(blt, reg, x, y, layout, Precision::BF16, opt.min_seconds);
    const double peak = bf16_matmul_gflops(B * N, args.dim_local_encoder, ffn, opt.min_seconds);
    r["precision"] = precision_name(opt.precision);
    r["bf16_matmul_peak_gflops"] = peak;
    r["bf16_train_bytes_per_s"] = B * N / b.train_s;
    r["bf16_train_mfu"] = b.step_flops / b.train_s / 1e9 / peak;
    r["bf16_eval_bytes_per_s"] = B * N / b.inf_s;
    r["bf16_eval_mfu"] = b.inf_flops / b.inf_s / 1e9 / peak;
    r["train_speedup_vs_fp32"] = train_s / b.train_s;
    r["infer_speedup_vs_fp32"] = inf_s / b.inf_s;
  }
  return r;
}

}  // namespace blt::bench
