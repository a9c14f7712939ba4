// The memory a command will need, estimated from a configuration before anything
// is allocated, and the refusal when the machine cannot hold it. The estimate is a
// lower bound made of the largest terms only: parameters (x dtype bytes; training
// adds gradients and AdamW's two fp32 moments), the RoPE tables (built at
// construction) and, for a workload of B sequences of T bytes, the activations the
// step arena holds (every layer's outputs until the step ends). Products are taken
// in double from bounded fields, so nothing wraps. The machine's memory is its
// physical RAM (sysconf), so a refusal means the command cannot run here at all.
// Weights used as stored (Workload::as_stored: bf16 views into the mapped file) count
// 2 bytes per parameter, as resident: every forward reads every matrix, so its pages
// come in; the hash n-gram tables are file-backed and not counted: only the rows a
// command looks up are ever read (the kernel drops clean file pages under pressure).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "lm/lm_args.h"
#include "model/blt_args.h"

namespace blt::modeldir {

// What the command runs besides holding the model.
struct Workload {
  bool training = false;  // + gradients, AdamW moments and activations kept for backward
  int64_t batch = 1;      // B sequences per (micro-)batch, e.g. 8
  int64_t seq_len = 0;    // T bytes (tokens) per sequence, e.g. 4096; 0: the model only
  bool as_stored = false;  // inference weights used as stored (bf16, mapped): see above
};

// One term of the estimate, named by the configuration field it grows with.
struct MemoryItem {
  std::string field;  // e.g. "dim_global 65536, n_layers_global 1"
  std::string what;   // e.g. "the global transformer's parameters"
  double bytes = 0;
};

struct MemoryPlan {
  std::vector<MemoryItem> items;
  void add(std::string field, std::string what, double bytes) {
    items.push_back({std::move(field), std::move(what), bytes});
  }
  double total() const;
  const MemoryItem& largest() const;  // the plan must not be empty
};

MemoryPlan plan_memory(const model::BltArgs& args, DType dtype, const Workload& work = {});
MemoryPlan plan_memory(const lm::LMTransformerArgs& args, DType dtype, const Workload& work = {});

// This machine's physical memory in bytes: sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGE_SIZE).
double machine_memory_bytes();

// "12.0 GiB" (binary units, B to PiB).
std::string format_bytes(double bytes);

// ConfigError when the plan exceeds `available` bytes, naming the largest term's field and the figures:
// "<where>: dim_global 65536, n_layers_global 1: the model needs 200.3 GiB, 200.0 GiB of it for the global
// transformer's parameters; this machine has 23.6 GiB".
void check_memory(const MemoryPlan& plan, const std::string& where,
                  double available = machine_memory_bytes());

}  // namespace blt::modeldir
