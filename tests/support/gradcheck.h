// Finite-difference gradient checking for ops and modules, in double.
// The loss is L = Σ f(inputs) · R with a seeded random cotangent R; the
// analytic gradient of every input from Graph::backward is compared with the
// central difference (L(x+h) − L(x−h)) / 2h at each (sampled) element.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/rng.h"
#include "nn/params.h"

namespace blt::test {

struct GradCheckOptions {
  double h = 1e-5;            // finite-difference step (≈ cbrt of double epsilon)
  double rtol = 1e-6;         // |a − n| <= atol + rtol·max(|a|,|n|)
  double atol = 1e-8;
  int64_t max_elements = 64;  // per input; sampled when larger (see sample_entries)
  uint64_t seed = 1;
};

using GraphFn = std::function<Var(Graph&, const std::vector<Var>&)>;

// Random double tensor, entries uniform in [-scale, scale).
Tensor random_tensor(Shape shape, uint64_t seed, double scale = 1.0, DType dtype = DType::F64);

// Checks d(Σ fn(inputs)·R)/d inputs for every input; failures are reported through gtest with the
// input index, element, analytic and numeric values. `name` labels the messages.
void gradcheck(const std::string& name, const std::vector<Tensor>& inputs, const GraphFn& fn,
               const GradCheckOptions& opt = {});

// Checks d loss/d p for a sample of entries of every parameter of a double registry; `loss` builds the
// scalar loss from the registry's current values (called once with a recording graph, then without).
void gradcheck_params(const std::string& name, const nn::ParamRegistry& reg, const std::function<Var(Graph&)>& loss,
                      const GradCheckOptions& opt = {});

// Which entries of a parameter to check, given its analytic gradient: all when there are at most `max`;
// else `max` of them, all but one among the entries with a non-zero gradient (for an embedding or hash
// table, the rows some id touches, where a uniform sample would mostly compare 0 with 0) and one anywhere.
std::vector<int64_t> sample_entries(const TensorView& grad, int64_t max, Rng& rng);

// Max |a − b| over all elements (shapes must match).
double max_abs_diff(const TensorView& a, const TensorView& b);

}  // namespace blt::test
