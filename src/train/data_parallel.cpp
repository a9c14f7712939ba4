// The ordered gradient sum across ranks, and the start-up replica check.
#include "train/data_parallel.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/hash.h"

namespace blt::train {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

OrderedGradSum::OrderedGradSum(dist::Communicator& comm, int64_t grad_accum)
    : comm_(comm), k_(grad_accum * comm.size()) {}

void OrderedGradSum::add(int64_t k, std::span<const float> grads) {
  if (k_ == 1) return;  // the gradient is the sum: nothing to fold
  const auto t = Clock::now();
  sum_.resize(grads.size());
  comm_.wait_send();  // the previous send read sum_
  if (k == 0) {
    std::copy(grads.begin(), grads.end(), sum_.begin());
  } else {
    if (owner(k - 1) != comm_.rank()) comm_.recv(sum_, owner(k - 1));
    for (size_t i = 0; i < grads.size(); ++i) sum_[i] += grads[i];
  }
  if (k + 1 < k_ && owner(k + 1) != comm_.rank()) comm_.send(sum_, owner(k + 1));
  comm_s_ += since(t);
}

void OrderedGradSum::finish(std::span<float> grads) {
  if (k_ == 1) return;
  const auto t = Clock::now();
  comm_.wait_send();
  sum_.resize(grads.size());
  comm_.broadcast(sum_, owner(k_ - 1));
  std::copy(sum_.begin(), sum_.end(), grads.begin());
  comm_s_ += since(t);
}

double OrderedGradSum::take_comm_seconds() {
  return std::exchange(comm_s_, 0.0);
}

void check_replicas(dist::Communicator& comm, const nn::ParamRegistry& params,
                    const std::string& fingerprint) {
  if (!comm.distributed()) return;
  const TensorView v = params.values();
  const uint64_t h =
      fnv1a(fingerprint, fnv1a(v.data<float>(), static_cast<size_t>(v.numel()) * sizeof(float)));
  const auto all = comm.all_gather(std::to_string(h));
  std::string differ;
  for (int r = 1; r < comm.size(); ++r)
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (!differ.empty())
    throw dist::JobError(
        "data-parallel start: rank(s) " + differ +
        " hold different initial parameters or settings than rank 0 (same --config, --seed, data "
        "and checkpoint on every rank?)");
}

}  // namespace blt::train
