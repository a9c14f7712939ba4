// `blt bench core`: the engine benchmark (see bench/core_bench.h).
#include <iostream>

#include "bench/core_bench.h"
#include "bench/blt_bench.h"
#include "bench/entropy_bench.h"
#include "tools/blt/commands.h"

namespace blt::cli {

Command add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure speed; every figure is a ratio measured in the same run");
  bench->require_subcommand(1);
  auto* core = bench->add_subcommand("core", "sgemm peak vs linear fwd+bwd and tiled attention");
  auto opt = std::make_shared<bench::CoreBenchOptions>();
  auto json = std::make_shared<bool>(false);
  core->add_flag("--json", *json, "Print one JSON object");
  core->add_option("--tokens", opt->tokens, "Rows of the linear shapes (B·T)")->capture_default_str();
  core->add_option("--dim", opt->dim, "Model width of the linear shapes")->capture_default_str();
  core->add_option("--seq", opt->attn_seq, "Attention sequence length")->capture_default_str();
  core->add_option("--window", opt->attn_window, "Attention causal window")->capture_default_str();
  core->add_option("--seconds", opt->min_seconds, "Minimum time per measurement")->capture_default_str();
  auto* ent = bench->add_subcommand("entropy", "Entropy model: entropy computation and training step vs sgemm");
  auto eopt = std::make_shared<bench::EntropyBenchOptions>();
  ent->add_option("--batch", eopt->batch, "Rows per forward pass")->capture_default_str();
  ent->add_option("--seconds", eopt->min_seconds, "Minimum time per measurement")->capture_default_str();
  ent->add_flag("--json", *json, "Print one JSON object");
  auto* bltb = bench->add_subcommand("blt", "BLT training step and inference vs sgemm; peak RSS");
  auto bopt = std::make_shared<bench::BltBenchOptions>();
  bltb->add_option("--batch", bopt->batch, "Rows per step")->capture_default_str();
  bltb->add_option("--seq-len", bopt->seq_len, "Bytes per row")->capture_default_str();
  bltb->add_option("--seconds", bopt->min_seconds, "Minimum time per measurement")->capture_default_str();
  bltb->add_flag("--json", *json, "Print one JSON object");
  return {bench, [core, opt, ent, eopt, bltb, bopt, json] {
    if (bltb->parsed()) {
      std::cerr << "bench blt: training step, inference and peak memory (about a minute)\n";
      const auto r = bench::run_blt_bench(*bopt);
      std::cout << (*json ? r.dump() : r.dump(2)) << std::endl;
      return;
    }
    if (ent->parsed()) {
      std::cerr << "bench entropy: two model sizes, inference and training (about a minute)\n";
      const auto r = bench::run_entropy_bench(*eopt);
      std::cout << (*json ? r.dump() : r.dump(2)) << std::endl;
      return;
    }
    if (!core->parsed()) return;
    std::cerr << "bench core: sgemm, linear and attention (about 10 seconds)\n";
    const auto r = bench::run_core_bench(*opt);
    if (*json) {
      std::cout << r.dump() << std::endl;
      return;
    }
    std::cout << "threads " << r["threads"] << "\n";
    for (const char* k : {"sgemm_gflops", "linear_fwd_bwd_gflops", "attn_fwd_gflops", "attn_fwd_bwd_gflops"})
      std::cout << k << " " << r[k].get<double>() << "\n";
    for (const char* k : {"linear_fwd_bwd_ratio", "attn_fwd_ratio", "attn_fwd_bwd_ratio"})
      std::cout << k << " " << r[k].get<double>() << "\n";
  }};
}

}  // namespace blt::cli
