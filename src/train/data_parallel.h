// Data parallelism: how the ranks of a job (dist::Communicator) share one
// optimizer step. A step has K = ranks × grad_accum micro-batches, read in
// stream order by every rank; micro-batch k belongs to rank k % ranks. Each
// micro-batch's gradient is computed alone (from zeroed buffers) and folded
// into a running sum in the order k = 0, 1, ..., K-1: the sum travels from
// the owner of k to the owner of k+1, and the last owner broadcasts it. So
// the sum, and with it the update, is bit-identical to one process running
// all K micro-batches (the same fold in the same order), however the step is
// split, and the sending overlaps the next micro-batch's compute.
#pragma once

#include <chrono>
#include <span>
#include <vector>

#include "dist/communicator.h"
#include "nn/params.h"

namespace blt::train {

class OrderedGradSum {
 public:
  OrderedGradSum(dist::Communicator& comm, int64_t grad_accum);

  int64_t micro_batches() const { return k_; }  // K, per step, all ranks
  bool mine(int64_t k) const { return k % comm_.size() == comm_.rank(); }
  // Folds micro-batch k's gradient (grads: numel) into the running sum (k must be mine, in increasing order).
  void add(int64_t k, std::span<const float> grads);
  // grads (numel) = the sum over the step's K micro-batches, on every rank.
  void finish(std::span<float> grads);
  // Seconds this rank spent waiting for or moving the sum since the last call.
  double take_comm_seconds();

 private:
  int owner(int64_t k) const { return static_cast<int>(k % comm_.size()); }

  dist::Communicator& comm_;
  int64_t k_;
  std::vector<float> sum_;  // the running sum, allocated at the first step that needs one
  double comm_s_ = 0;
};

// Refuses to start unless every rank holds the same parameters (`params`' values) and the same
// `fingerprint` (settings, data): a ConfigError on every rank naming the ranks that differ.
void check_replicas(dist::Communicator& comm, const nn::ParamRegistry& params,
                    const std::string& fingerprint);

}  // namespace blt::train
