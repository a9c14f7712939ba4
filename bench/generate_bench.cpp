// Cached vs recompute-everything generation (see generate_bench.h).
#include "bench/generate_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>

#include "bench/alloc_counter.h"
#include "bench/blt_bench.h"
#include "bench/decode_products.h"
#include "bench/read_bandwidth.h"
#include "blas/gemm.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/tokenizer.h"
#include "generate/generation.h"
#include "generate/weight_reads.h"
#include "io/file.h"
#include "lm/entropies.h"
#include "modeldir/blt_model.h"
#include "patching/calibrate.h"
#include "patching/patcher.h"
#include "patching/row_patcher.h"

#ifndef BLT_SOURCE_DIR
#define BLT_SOURCE_DIR "."
#endif

namespace blt::bench {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The bundled entropy model's shape (models/entropy-kjv/params.json).
lm::LMTransformerArgs entropy_args() {
  lm::LMTransformerArgs a;
  a.dim = 256;
  a.n_layers = 2;
  a.n_heads = 4;
  a.multiple_of = 64;
  a.max_seqlen = 512;
  a.sliding_window = 512;
  a.attn_bias_type = lm::AttnBias::LocalBlockCausal;
  a.vocab_size = 260;
  a.eos_id = 2;
  a.validate("bench generate: entropy model");
  return a;
}

// Greedy over the byte ids (never BOS/EOS/pad, so every run generates exactly n bytes).
int32_t greedy_byte(std::span<const float> logits) {
  const auto b = logits.begin() + patching::kByteOffset;
  return static_cast<int32_t>(std::max_element(b, logits.end()) - logits.begin());
}

struct Run {
  double prefill_s = 0, generate_s = 0;
  double prefill_flops = 0, generate_flops = 0;
  int64_t prefill_steps = 0, generate_steps = 0;  // global-model patch steps
  uint64_t prefill_allocs = 0, step_allocs = 0, max_step_allocs = 0;
  std::vector<double> step_s;                     // seconds of each step
  std::vector<int32_t> ids;                       // generated
};

// reset, prefill with `prompt`, then n greedy steps (argmax + one-byte feed), each step counted.
Run generate_once(gen::Decoder& d, std::span<const int32_t> prompt, int64_t n) {
  Run r;
  r.ids.reserve(static_cast<size_t>(n));
  r.step_s.reserve(static_cast<size_t>(n));
  d.reset();
  const double f0 = d.flops();
  const int64_t g0 = d.global_steps();
  const uint64_t a0 = allocation_count();
  auto t = Clock::now();
  std::span<const float> logits = d.feed(prompt);
  r.prefill_s = since(t);
  r.prefill_allocs = allocation_count() - a0;
  const double f1 = d.flops();
  const int64_t g1 = d.global_steps();
  for (int64_t i = 0; i < n; ++i) {
    t = Clock::now();
    const uint64_t a = allocation_count();
    const int32_t next = greedy_byte(logits);
    r.ids.push_back(next);
    logits = d.feed({&next, 1});
    const uint64_t da = allocation_count() - a;
    r.step_s.push_back(since(t));
    r.step_allocs += da;
    r.max_step_allocs = std::max(r.max_step_allocs, da);
  }
  for (double x : r.step_s) r.generate_s += x;
  r.prefill_flops = f1 - f0;
  r.generate_flops = d.flops() - f1;
  r.prefill_steps = g1 - g0;
  r.generate_steps = d.global_steps() - g1;
  return r;
}

double mean_patch(std::span<const int32_t> lengths) {
  int64_t sum = 0, n = 0;
  for (int32_t l : lengths) sum += l, n += l > 0;
  return n ? static_cast<double>(sum) / static_cast<double>(n) : 0.0;
}

// Patch starts at positions in (from, to] of the offline patching of `tokens` (include_next_token).
int64_t starts_in(const patching::PatcherArgs& pa, lm::EntropyComputer& ec, std::span<const int32_t> tokens,
                  int64_t from, int64_t to) {
  const std::vector<float> h = ec.compute(tokens);
  const std::vector<int32_t> lengths = patching::patch_lengths(pa, tokens, h, true);
  int64_t pos = 0, n = 0;
  for (int32_t l : lengths) {
    pos += l;
    n += pos > from && pos <= to;
  }
  return n;
}

double per(double x, int64_t n) { return n > 0 ? x / static_cast<double>(n) : 0.0; }

}  // namespace

std::string find_sample_text(const std::string& given) {
  if (!given.empty()) return given;
  for (const std::string& p : {std::string("data/sample/train.txt"), std::string(BLT_SOURCE_DIR) + "/data/sample/train.txt"})
    if (std::filesystem::exists(p)) return p;
  throw IoError("data/sample/train.txt: not found (run from the source tree or pass --text)");
}

modeldir::BltModel bench_entropy_blt(double target_patch) {
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Entropy;
  pa.patch_size = target_patch;
  modeldir::EntropyModel em = modeldir::EntropyModel::create(entropy_args(), pa);
  Rng rng(11);
  em.params->initialize(rng);
  modeldir::BltModel m = modeldir::BltModel::create(blt_bench_args(4096, "entropy"), pa);
  m.params->initialize(rng);
  m.entropy = std::move(em);
  return m;
}

namespace {

// The cached arm on one prompt: one warm-up run (arenas and caches grow here; its allocations are the "cold"
// figure), then the timed repeats. Every repeat does the same work step for step, so a step's time is its
// best over them.
struct CachedArm {
  Run cold, last;
  double prefill_s = 1e300, wall_s = 1e300, generate_s = 0;  // best prefill, best run, sum of best steps
  bool identical = true;                                     // every repeat generated the warm-up's bytes
};

CachedArm run_cached(gen::Decoder& d, std::span<const int32_t> prompt, int64_t n, int64_t repeats) {
  CachedArm a;
  a.cold = generate_once(d, prompt, n);
  std::vector<double> step_best(static_cast<size_t>(n), 1e300);
  for (int64_t i = 0; i < repeats; ++i) {
    a.last = generate_once(d, prompt, n);
    a.identical = a.identical && a.last.ids == a.cold.ids;
    a.prefill_s = std::min(a.prefill_s, a.last.prefill_s);
    a.wall_s = std::min(a.wall_s, a.last.generate_s);
    for (size_t j = 0; j < step_best.size(); ++j) step_best[j] = std::min(step_best[j], a.last.step_s[j]);
  }
  for (double x : step_best) a.generate_s += x;
  return a;
}

// The --no-cache arm after `prompt` (n bytes) against the cached arm's bytes and bytes/s: the fields it adds
// to the prompt's row.
nlohmann::json no_cache_fields(modeldir::BltModel& m, std::span<const int32_t> prompt, const Run& cached,
                               int64_t n, double cached_bps) {
  const auto nocache = gen::make_decoder(&m, nullptr, false);
  const Run nc = generate_once(*nocache, prompt, n);
  int64_t same = 0;
  while (same < n && nc.ids[static_cast<size_t>(same)] == cached.ids[static_cast<size_t>(same)]) ++same;
  // The no-cache steps each recompute the whole context (one byte longer each step): their best.
  const double nc_step = *std::min_element(nc.step_s.begin(), nc.step_s.end());
  const double cached_flops = per(cached.generate_flops, static_cast<int64_t>(cached.ids.size()));
  return {{"no_cache",
           {{"bytes", n},
            {"step_s", nc_step},
            {"generate_wall_s", nc.generate_s},
            {"bytes_per_s", 1.0 / nc_step},
            {"global_steps_per_byte", per(static_cast<double>(nc.generate_steps), n)},
            {"flops_per_byte", per(nc.generate_flops, n)},
            {"allocations_per_step", per(static_cast<double>(nc.step_allocs), n)}}},
          {"speedup", cached_bps * nc_step},
          {"flops_ratio", per(nc.generate_flops, n) / cached_flops},
          {"no_cache_bytes_equal_cached", same}};
}

// The memory-bandwidth bound of a cached run of `bytes` bytes and `steps` global steps at `bps` bytes/s: its
// mean patch is bytes per global step (at least one step: a run too short to close a patch reads the global
// weights at the next byte), the weights read per byte at that patch, and bandwidth / that.
nlohmann::json bound_json(const gen::WeightReads& w, double gb_s, int64_t bytes, int64_t steps, double bps) {
  const double mean_patch = static_cast<double>(bytes) / static_cast<double>(std::max<int64_t>(steps, 1));
  const double per_byte = w.per_byte(mean_patch);
  const double bound = gb_s * 1e9 / per_byte;
  return {{"mean_patch", mean_patch},
          {"weight_bytes_per_byte", per_byte},
          {"bound_bytes_per_s", bound},
          {"ratio", bps / bound}};
}

}  // namespace

nlohmann::json run_generate_bench(const GenerateBenchOptions& opt) {
  if (opt.gen_bytes < 1 || opt.no_cache_bytes < 0 || opt.repeats < 1 || !(opt.target_patch >= 1.0))
    throw ConfigError("bench generate: needs --bytes >= 1, --no-cache-bytes >= 0, --repeats >= 1, --patch >= 1");
  const int64_t n_nc = opt.no_cache_bytes == 0 ? opt.gen_bytes : std::min(opt.no_cache_bytes, opt.gen_bytes);
  const std::string path = find_sample_text(opt.text);
  const std::string text = io::read_file(path);
  std::vector<std::vector<int32_t>> prompts;
  for (int64_t p : opt.prompt_bytes) {
    if (p < 1 || p > static_cast<int64_t>(text.size()))
      throw ConfigError("bench generate: prompt of " + std::to_string(p) + " bytes; " + path + " has " +
                        std::to_string(text.size()));
    prompts.push_back(data::encode(std::string_view(text).substr(0, static_cast<size_t>(p)), true, false));
  }

  // The model (the given one, else the built-in one with per prompt the threshold calibrated on that prompt's
  // entropies), the weights it reads per byte and the read bandwidth.
  std::optional<modeldir::BltModel> own;
  if (!opt.model) own.emplace(bench_entropy_blt(opt.target_patch));
  modeldir::BltModel& m = opt.model ? *opt.model : *own;
  if (!m.entropy || m.patcher.patching_mode != patching::PatchingMode::Entropy)
    throw ConfigError("bench generate: the model needs entropy patching and its entropy model");
  const model::BltArgs& args = m.args;
  patching::PatcherArgs pa = m.patcher;
  lm::EntropyComputer ec(*m.entropy->model, {patching::kEntropyChunk, 4});
  std::vector<std::vector<float>> prompt_h;
  std::vector<patching::Calibration> cals;
  for (const auto& p : prompts) {
    prompt_h.push_back(ec.compute(p));
    if (!opt.model)
      cals.push_back(
          patching::calibrate_threshold(pa, std::span(&prompt_h.back(), 1), opt.target_patch, true));
  }
  const lm::LMTransformerArgs& ea = m.entropy->args;
  const int64_t entropy_params = m.entropy->params->numel();
  const gen::WeightReads reads = gen::weight_reads(m);
  const double gb_s = read_bandwidth_gb_s({.bytes = opt.bandwidth_bytes});
  const DecodeProductOptions po{.N = std::clamp<int64_t>(opt.bandwidth_bytes / (4 * 2048), 1, 2048),
                                .bytes = opt.bandwidth_bytes};
  const DecodeProductRates products = decode_product_rates(po);

  nlohmann::json rows = nlohmann::json::array();
  for (size_t k = 0; k < prompts.size(); ++k) {
    const std::vector<int32_t>& prompt = prompts[k];
    const int64_t T0 = static_cast<int64_t>(prompt.size());
    if (!opt.model) {
      pa.threshold = cals[k].threshold;
      m.patcher = pa;  // read by the decoders made below
      m.entropy->patcher = pa;
    }
    const auto cached = gen::make_decoder(&m, nullptr, true);
    if (T0 + opt.gen_bytes > cached->capacity())
      throw ConfigError("bench generate: prompt + generated bytes exceed the context of " +
                        std::to_string(cached->capacity()));
    const CachedArm ca = run_cached(*cached, prompt, opt.gen_bytes, opt.repeats);
    const Run& last = ca.last;
    // The generated bytes re-patched offline (the whole context, as the no-cache path patches it).
    std::vector<int32_t> context(prompt);
    context.insert(context.end(), last.ids.begin(), last.ids.end());
    const int64_t gen_patches = starts_in(pa, ec, context, T0, T0 + opt.gen_bytes);
    const double mean_gen_patch = gen_patches ? static_cast<double>(opt.gen_bytes) / static_cast<double>(gen_patches) : 0.0;
    const double cached_bps = static_cast<double>(opt.gen_bytes) / ca.generate_s;
    nlohmann::json row = {
        {"prompt_bytes", opt.prompt_bytes[k]},
        {"prompt_tokens", T0},
        {"threshold", pa.threshold},
        {"calibrated", !opt.model},
        {"prompt_mean_patch", mean_patch(patching::patch_lengths(pa, prompt, prompt_h[k], true))},
        {"calibration_clamped", !opt.model && cals[k].clamped},
        {"cached",
         {{"bytes", opt.gen_bytes},
          {"prefill_s", ca.prefill_s},
          {"prefill_bytes_per_s", static_cast<double>(T0) / ca.prefill_s},
          {"generate_s", ca.generate_s},
          {"generate_wall_s", ca.wall_s},
          {"bytes_per_s", cached_bps},
          {"global_steps", last.generate_steps},
          {"global_steps_per_byte", per(static_cast<double>(last.generate_steps), opt.gen_bytes)},
          {"generated_patches", gen_patches},
          {"mean_generated_patch", mean_gen_patch},
          {"inverse_mean_generated_patch", per(static_cast<double>(gen_patches), opt.gen_bytes)},
          {"steps_equal_patches", last.generate_steps == gen_patches},
          {"flops_per_byte", per(last.generate_flops, opt.gen_bytes)},
          {"prefill_allocations", last.prefill_allocs},
          {"allocations_per_step", per(static_cast<double>(last.step_allocs), opt.gen_bytes)},
          {"max_allocations_in_a_step", last.max_step_allocs},
          {"cold_allocations_per_step", per(static_cast<double>(ca.cold.step_allocs), opt.gen_bytes)},
          {"repeats_identical", ca.identical},
          {"bound", bound_json(reads, gb_s, opt.gen_bytes, last.generate_steps, cached_bps)},
          {"text_head", data::printable(data::decode(std::vector<int32_t>(
                            last.ids.begin(), last.ids.begin() + std::min<int64_t>(opt.gen_bytes, 64))))}}}};
    if (opt.no_cache_arm) row.update(no_cache_fields(m, prompt, ca.cold, n_nc, cached_bps));
    rows.push_back(row);
  }

  nlohmann::json target = nullptr;
  for (const auto& r : rows)
    if (r["prompt_bytes"] == 2048 && r.contains("speedup"))
      target = {{"prompt_bytes", 2048}, {"min_speedup", 50}, {"met", r["speedup"].get<double>() >= 50.0}};
  return {{"threads", blas::num_threads()},
          {"read_bandwidth_gb_s", gb_s},
          {"decode_products",
           {{"N", po.N},
            {"K", po.K},
            {"f32_weights_gb_s", products.f32_weights_gb_s},
            {"bf16_weights_gb_s", products.bf16_weights_gb_s},
            {"f32_of_read_bandwidth", products.f32_weights_gb_s / gb_s},
            {"bf16_of_read_bandwidth", products.bf16_weights_gb_s / gb_s}}},
          {"weight_reads",
           {{"byte_matrices", reads.byte_matrices},
            {"byte_rows", reads.byte_rows},
            {"patch_matrices", reads.patch_matrices}}},
          {"config",
           {{"dim_global", args.dim_global},
            {"n_layers_global", args.n_layers_global},
            {"dim_local", args.dim_local_encoder},
            {"n_layers_local_encoder", args.n_layers_local_encoder},
            {"n_layers_local_decoder", args.n_layers_local_decoder},
            {"context", args.max_encoder_seq_length},
            {"parameters", m.params->numel()},
            {"entropy_dim", ea.dim},
            {"entropy_n_layers", ea.n_layers},
            {"entropy_parameters", entropy_params},
            {"patching", "entropy"},
            {"target_mean_patch", opt.model ? nlohmann::json(nullptr) : nlohmann::json(opt.target_patch)},
            {"sampling", "greedy over byte ids"},
            {"text", path}}},
          {"prompts", rows},
          {"target", target}};
}

namespace {

// The prompt's no-cache row of the table, or nothing when the arm did not run.
std::string no_cache_line(const nlohmann::json& p) {
  if (!p.contains("no_cache")) return "";
  const auto& nc = p["no_cache"];
  char sp[32], line[256];
  std::snprintf(sp, sizeof sp, "%.1fx", p["speedup"].get<double>());
  std::snprintf(line, sizeof line, "%6lld  no-cache  %6lld  %11s  %8.1f  %7s  %7.2f  %12s  %7.3g  %11.2f\n",
                p["prompt_bytes"].get<long long>(), nc["bytes"].get<long long>(), "",
                nc["bytes_per_s"].get<double>(), sp, nc["global_steps_per_byte"].get<double>(), "",
                nc["flops_per_byte"].get<double>(), nc["allocations_per_step"].get<double>());
  return line;
}

// The memory-bandwidth bound lines: the weights read per byte and, per prompt, the bound against achieved.
std::string bound_lines(const nlohmann::json& r) {
  const auto& w = r["weight_reads"];
  char line[512];
  std::snprintf(line, sizeof line,
                "read bandwidth %.2f GB/s; weights read per generated byte: %.2f MB of matrices + %.1f kB of "
                "embedding rows, plus %.2f MB per patch\n",
                r["read_bandwidth_gb_s"].get<double>(), w["byte_matrices"].get<double>() / 1e6,
                w["byte_rows"].get<double>() / 1e3, w["patch_matrices"].get<double>() / 1e6);
  std::string out = line;
  const auto& d = r["decode_products"];
  std::snprintf(line, sizeof line,
                "one-row products (%lld x %lld weights): float32 weights read at %.2f GB/s (%.2f of the read "
                "bandwidth), bf16 weights at %.2f GB/s (%.2f)\n",
                static_cast<long long>(d["N"].get<int64_t>()), static_cast<long long>(d["K"].get<int64_t>()),
                d["f32_weights_gb_s"].get<double>(), d["f32_of_read_bandwidth"].get<double>(),
                d["bf16_weights_gb_s"].get<double>(), d["bf16_of_read_bandwidth"].get<double>());
  out += line;
  for (const auto& p : r["prompts"]) {
    const auto& ca = p["cached"];
    const auto& b = ca["bound"];
    std::snprintf(
        line, sizeof line,
        "prompt %lld: generated %.2f B/s; at mean patch %.2f, %.2f MB of weights per byte -> bound %.2f B/s "
        "(read bandwidth / weight bytes per byte); achieved %.3f of the bound\n",
        p["prompt_bytes"].get<long long>(), ca["bytes_per_s"].get<double>(), b["mean_patch"].get<double>(),
        b["weight_bytes_per_byte"].get<double>() / 1e6, b["bound_bytes_per_s"].get<double>(),
        b["ratio"].get<double>());
    out += line;
  }
  return out;
}

}  // namespace

std::string generate_bench_table(const nlohmann::json& r) {
  std::ostringstream o;
  char line[512];
  const auto& c = r["config"];
  std::snprintf(line, sizeof line,
                "threads %d; BLT %lld parameters (global %lld x %lld, local %lld x %lld/%lld), entropy model %lld "
                "parameters (%lld x %lld)\n",
                r["threads"].get<int>(), c["parameters"].get<long long>(), c["dim_global"].get<long long>(),
                c["n_layers_global"].get<long long>(), c["dim_local"].get<long long>(),
                c["n_layers_local_encoder"].get<long long>(), c["n_layers_local_decoder"].get<long long>(),
                c["entropy_parameters"].get<long long>(), c["entropy_dim"].get<long long>(),
                c["entropy_n_layers"].get<long long>());
  o << line;
  if (c.contains("model")) o << "model " << c["model"].get<std::string>() << "\n";
  for (const auto& p : r["prompts"]) {
    if (p["calibrated"].get<bool>())
      std::snprintf(
          line, sizeof line,
          "prompt %lld bytes: entropy threshold %.6f nats calibrated to mean patch %.2f (target %.2f)%s\n",
          p["prompt_bytes"].get<long long>(), p["threshold"].get<double>(),
          p["prompt_mean_patch"].get<double>(), c["target_mean_patch"].get<double>(),
          p["calibration_clamped"].get<bool>() ? " (clamped)" : "");
    else
      std::snprintf(line, sizeof line,
                    "prompt %lld bytes: the model's entropy threshold %.6f nats, mean patch %.2f\n",
                    p["prompt_bytes"].get<long long>(), p["threshold"].get<double>(),
                    p["prompt_mean_patch"].get<double>());
    o << line;
  }
  o << "prompt  arm        bytes  prefill B/s   gen B/s  speedup  steps/B  1/mean_patch  FLOPs/B  allocs/step\n";
  for (const auto& p : r["prompts"]) {
    const auto& ca = p["cached"];
    std::snprintf(line, sizeof line, "%6lld  cached    %6lld  %11.0f  %8.1f  %7s  %7.4f  %12.4f  %7.3g  %11.2f\n",
                  p["prompt_bytes"].get<long long>(), ca["bytes"].get<long long>(),
                  ca["prefill_bytes_per_s"].get<double>(), ca["bytes_per_s"].get<double>(), "",
                  ca["global_steps_per_byte"].get<double>(), ca["inverse_mean_generated_patch"].get<double>(),
                  ca["flops_per_byte"].get<double>(), ca["allocations_per_step"].get<double>());
    o << line << no_cache_line(p);
  }
  for (const auto& p : r["prompts"]) {
    const auto& ca = p["cached"];
    std::snprintf(
        line, sizeof line,
        "prompt %lld: generated %lld patches (mean %.2f bytes), global steps == "
        "patches: %s; cached allocations per step %.2f warm (max %lld in one step), %.2f cold, prefill "
        "%lld; repeats identical: %s",
        p["prompt_bytes"].get<long long>(), ca["generated_patches"].get<long long>(),
        ca["mean_generated_patch"].get<double>(), ca["steps_equal_patches"].get<bool>() ? "yes" : "NO",
        ca["allocations_per_step"].get<double>(), ca["max_allocations_in_a_step"].get<long long>(),
        ca["cold_allocations_per_step"].get<double>(), ca["prefill_allocations"].get<long long>(),
        ca["repeats_identical"].get<bool>() ? "yes" : "NO");
    o << line;
    if (p.contains("no_cache"))
      o << "; no-cache bytes equal to cached: " << p["no_cache_bytes_equal_cached"].get<long long>() << "/"
        << p["no_cache"]["bytes"].get<long long>();
    o << "\n";
  }
  o << bound_lines(r);
  if (!r["target"].is_null())
    o << "target (cached >= 50x no-cache at the 2048-byte prompt): " << (r["target"]["met"].get<bool>() ? "met" : "NOT met")
      << "\n";
  return o.str();
}

}  // namespace blt::bench
