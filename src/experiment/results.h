// What `blt experiment` writes: one result per arm (and one for the entropy
// model), as results.jsonl (one JSON object a line), results.md (the table
// and a closing comparison line stating what is counted) and
// bpb_vs_flops.svg (valid BPB against training FLOPs, a line per arm, with
// labelled axes and a legend). Each file is written atomically.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace blt::experiment {

struct CurvePoint {
  int64_t step = 0;
  double train_flops = 0;  // executed training FLOPs at that step, e.g. 2.5e12
  double valid_bpb = 0;
};

struct ArmResult {
  std::string arm;  // e.g. "blt-entropy", or "entropy-model"
  int64_t params = 0;
  int64_t steps = 0;
  double mean_patch_bytes = 0;          // bytes per patch (BPE: per token; byte LM: 1), on the valid split
  double train_flops = 0;               // executed, forward + backward
  double analytic_train_flops = 0;      // 3 × analytic forward per target × targets trained
  double inference_flops_per_byte = 0;  // analytic forward, the entropy model excluded
  double valid_bpb = 0;
  double wall_s = 0;  // training (and validation) time
  std::vector<CurvePoint> curve;
  nlohmann::json extra = nlohmann::json::object();  // e.g. the entropy model's patching FLOPs, the threshold
};

nlohmann::json to_json(const ArmResult& r);
ArmResult arm_result_from_json(const nlohmann::json& j, const std::string& where);

// The results in results.jsonl, in file order; none when it does not exist. FormatError naming path:line.
std::vector<ArmResult> read_results(const std::string& path);

// The table: one row per result, then the closing comparison line.
std::string results_markdown(const std::vector<ArmResult>& results, double budget);
// Valid BPB against training FLOPs (log scale), one polyline per arm with a curve.
std::string bpb_svg(const std::vector<ArmResult>& results);

// results.jsonl, results.md and bpb_vs_flops.svg in dir, each atomically.
void write_results(const std::string& dir, const std::vector<ArmResult>& results, double budget);

}  // namespace blt::experiment
