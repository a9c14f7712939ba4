// results.jsonl / results.md / bpb_vs_flops.svg (results.h).
#include "experiment/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"

namespace blt::experiment {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

bool is_blt(const ArmResult& r) {
  return r.arm.rfind("blt-", 0) == 0;
}

// The result named `arm`, or null.
const ArmResult* find(const std::vector<ArmResult>& rs, const std::string& arm) {
  for (const auto& r : rs)
    if (r.arm == arm) return &r;
  return nullptr;
}

// The closing comparison line: best BLT against the BPE and byte baselines and the entropy model.
std::string closing_line(const std::vector<ArmResult>& rs, double budget) {
  const ArmResult* best = nullptr;
  for (const auto& r : rs)
    if (is_blt(r) && (!best || r.valid_bpb < best->valid_bpb)) best = &r;
  std::string s = "At " + fmt("%.3g", budget) + " training FLOPs per arm";
  if (best)
    s += ", the best BLT (" + best->arm + ") reaches " + fmt("%.3f", best->valid_bpb) + " bits per byte";
  for (const char* base : {"bpe", "byte"})
    if (const ArmResult* b = find(rs, base))
      s += std::string(", the ") +
           (std::string(base) == "bpe" ? "BPE baseline " : "byte-level transformer ") +
           fmt("%.3f", b->valid_bpb);
  const ArmResult* ent = find(rs, "entropy-model");
  if (ent) {
    s += ", the entropy model alone " + fmt("%.3f", ent->valid_bpb);
    if (best && best->valid_bpb > ent->valid_bpb) s += " (better than every BLT here)";
  }
  s += ". Counted: the executed forward + backward FLOPs of each arm's training steps. Not counted: "
       "validation, "
       "tokenizer training";
  if (ent)
    s += ", the entropy model's own training (" +
         (ent->extra.contains("given") ? std::string("given, trained elsewhere")
                                       : fmt("%.3g", ent->train_flops) + " FLOPs") +
         ") and its forwards over the training split that entropy patching reads (" +
         fmt("%.3g", ent->extra.value("patching_flops", 0.0)) + " FLOPs)";
  s += ".";
  if (ent)
    s += " Inference FLOPs per byte leave the entropy model out; entropy-patched BLTs add its " +
         fmt("%.3g", ent->inference_flops_per_byte) + ".";
  return s;
}

}  // namespace

nlohmann::json to_json(const ArmResult& r) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& p : r.curve)
    curve.push_back({{"step", p.step}, {"train_flops", p.train_flops}, {"valid_bpb", p.valid_bpb}});
  return {{"arm", r.arm},
          {"params", r.params},
          {"steps", r.steps},
          {"mean_patch_bytes", r.mean_patch_bytes},
          {"train_flops", r.train_flops},
          {"analytic_train_flops", r.analytic_train_flops},
          {"inference_flops_per_byte", r.inference_flops_per_byte},
          {"valid_bpb", r.valid_bpb},
          {"wall_s", r.wall_s},
          {"curve", curve},
          {"extra", r.extra}};
}

ArmResult arm_result_from_json(const nlohmann::json& j, const std::string& where) {
  ArmResult r;
  io::JsonFields f(j, where);
  f.required("arm", r.arm);
  f.required("params", r.params);
  f.required("steps", r.steps);
  f.required("mean_patch_bytes", r.mean_patch_bytes);
  f.required("train_flops", r.train_flops);
  f.required("analytic_train_flops", r.analytic_train_flops);
  f.required("inference_flops_per_byte", r.inference_flops_per_byte);
  f.required("valid_bpb", r.valid_bpb);
  f.required("wall_s", r.wall_s);
  nlohmann::json curve;
  f.required("curve", curve);
  r.extra = f.object("extra");
  f.finish();
  if (!curve.is_array()) throw FormatError(where + ": field 'curve' must be an array");
  for (size_t i = 0; i < curve.size(); ++i) {
    CurvePoint p;
    io::JsonFields c(curve[i], where + ": curve[" + std::to_string(i) + "]");
    c.required("step", p.step);
    c.required("train_flops", p.train_flops);
    c.required("valid_bpb", p.valid_bpb);
    c.finish();
    r.curve.push_back(p);
  }
  return r;
}

std::vector<ArmResult> read_results(const std::string& path) {
  std::vector<ArmResult> out;
  if (!std::filesystem::exists(path)) return out;
  std::istringstream in(io::read_file(path));
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(where + ": " + e.what());
    }
    out.push_back(arm_result_from_json(j, where));
  }
  return out;
}

std::string results_markdown(const std::vector<ArmResult>& rs, double budget) {
  std::string s =
      "| arm | params | steps | mean patch (bytes) | training FLOPs (executed) | inference FLOPs/byte | "
      "valid BPB | wall |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& r : rs)
    s += "| " + r.arm + " | " + std::to_string(r.params) + " | " + std::to_string(r.steps) + " | " +
         fmt("%.2f", r.mean_patch_bytes) + " | " + fmt("%.3g", r.train_flops) + " | " +
         fmt("%.3g", r.inference_flops_per_byte) + " | " + fmt("%.4f", r.valid_bpb) + " | " +
         fmt("%.0f s", r.wall_s) + " |\n";
  return s + "\n" + closing_line(rs, budget) + "\n";
}

void write_results(const std::string& dir, const std::vector<ArmResult>& rs, double budget) {
  std::string jsonl;
  for (const auto& r : rs) jsonl += to_json(r).dump() + "\n";
  const std::filesystem::path d(dir);
  io::write_file_atomic((d / "results.jsonl").string(), jsonl);
  io::write_file_atomic((d / "results.md").string(), results_markdown(rs, budget));
  io::write_file_atomic((d / "bpb_vs_flops.svg").string(), bpb_svg(rs));
}

}  // namespace blt::experiment
