// Helpers of the `blt train-entropy` tests that run the binary on a tiny byte
// LM (dim 16, 1 layer; a few ms a step): the config and corpus, the training
// command line, and readers of what a run leaves in --out.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {

// A directory with tiny.json (12 steps, a checkpoint every 4, keep 2) and d.txt.
struct TrainFixture {
  TempDir tmp;
  std::string config, data;
  TrainFixture();
  // `blt train-entropy --config --data --out out` + extra.
  std::vector<std::string> args(const std::string& out, const std::vector<std::string>& extra = {}) const;
  Result run(const std::vector<std::string>& args) const { return run_blt(args, tmp.path()); }
  std::string out(const std::string& name) const { return tmp.file(name); }
};

// A tiny BLT configuration (dims 32/16, one layer each, cross attention k 2, hash n-grams 3 and 4) with
// `patching_mode` and `train` as the config's "train" object (JSON text).
std::string tiny_blt_config(const std::string& patching_mode, const std::string& train);

// The text of OUT/checkpoints/latest without its newline ("" when absent).
std::string latest_name(const std::string& out);
// The step_* directory names in OUT/checkpoints, sorted.
std::vector<std::string> checkpoint_names(const std::string& out);
// Every entry under dir whose name marks a temporary (".tmp-").
std::vector<std::string> temporaries_under(const std::string& dir);
// The "loss", "bpb" and "flops_per_byte" fields of every metrics.jsonl line, in order.
std::vector<double> logged_values(const std::string& out);
// Overwrites the first float of the first tensor of a safetensors file with NaN; returns its name.
std::string poison_first_tensor(const std::string& path);

}  // namespace blt::test
