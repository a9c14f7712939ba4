// Finite-difference gradient check implementation.
#include "support/gradcheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace blt::test {

Tensor random_tensor(Shape shape, uint64_t seed, double scale, DType dtype) {
  Rng rng(seed);
  Tensor t = Tensor::empty(shape, dtype);
  dispatch(dtype, [&]<class T>() {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>((2 * rng.uniform() - 1) * scale);
  });
  return t;
}

namespace {
double weighted_sum(const TensorView& out, const Tensor& r) {
  double s = 0;
  for (int64_t i = 0; i < out.numel(); ++i) s += out.at(i) * r.at(i);
  return s;
}
}  // namespace

void gradcheck(const std::string& name, const std::vector<Tensor>& inputs, const GraphFn& fn,
               const GradCheckOptions& opt) {
  // Working copies the perturbation writes into.
  std::vector<Tensor> values, grads;
  for (const Tensor& t : inputs) {
    ASSERT_EQ(t.dtype(), DType::F64) << name << ": gradcheck runs in double";
    Tensor v = Tensor::empty(t.shape(), DType::F64);
    v.view().copy_from(t);
    values.push_back(v);
    grads.push_back(Tensor::zeros(t.shape(), DType::F64));
  }
  auto vars = [&](bool with_grad) {
    std::vector<Var> vs;
    for (size_t i = 0; i < values.size(); ++i) vs.push_back(Var{values[i].view(), with_grad ? grads[i].view() : TensorView{}});
    return vs;
  };

  Graph g;
  Var out = fn(g, vars(true));
  ASSERT_TRUE(out.requires_grad()) << name << ": output carries no gradient";
  const Tensor R = random_tensor(out.shape(), opt.seed + 7, 1.0);
  out.grad().copy_from(R);
  g.backward();

  Graph probe;
  probe.set_recording(false);
  auto loss_at = [&]() {
    probe.reset();
    return weighted_sum(fn(probe, vars(false)).value, R);
  };

  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t n = values[i].numel();
    const int64_t stride = std::max<int64_t>(1, n / opt.max_elements);
    int failures = 0;
    for (int64_t j = 0; j < n && failures < 5; j += stride) {
      double* x = values[i].data<double>() + j;
      const double saved = *x;
      *x = saved + opt.h;
      const double lp = loss_at();
      *x = saved - opt.h;
      const double lm = loss_at();
      *x = saved;
      const double numeric = (lp - lm) / (2 * opt.h);
      const double analytic = grads[i].at(j);
      const double tol = opt.atol + opt.rtol * std::max(std::fabs(numeric), std::fabs(analytic));
      if (!(std::fabs(analytic - numeric) <= tol)) {
        ++failures;
        ADD_FAILURE() << name << ": input " << i << " " << values[i].shape().str() << " element " << j
                      << ": analytic " << analytic << " vs numeric " << numeric;
      }
    }
  }
}

std::vector<int64_t> sample_entries(const TensorView& grad, int64_t max, Rng& rng) {
  const int64_t n = grad.numel();
  std::vector<int64_t> out;
  if (n <= max) {
    for (int64_t j = 0; j < n; ++j) out.push_back(j);
    return out;
  }
  std::vector<int64_t> touched;
  for (int64_t j = 0; j < n; ++j)
    if (grad.at(j) != 0) touched.push_back(j);
  for (int64_t s = 0; s < max; ++s) {
    const bool anywhere = touched.empty() || s == max - 1;
    out.push_back(anywhere ? static_cast<int64_t>(rng.below(n)) : touched[rng.below(touched.size())]);
  }
  return out;
}

void gradcheck_params(const std::string& name, const nn::ParamRegistry& reg, const std::function<Var(Graph&)>& loss,
                      const GradCheckOptions& opt) {
  ASSERT_EQ(reg.dtype(), DType::F64) << name << ": gradcheck runs in double";
  reg.zero_grad();
  Graph g;
  g.backward(loss(g));
  Graph probe;
  probe.set_recording(false);
  auto loss_now = [&] {
    probe.reset();
    return loss(probe).value.at(0);
  };
  Rng rng(opt.seed);
  for (size_t i = 0; i < reg.params().size(); ++i) {
    const nn::ParamInfo& p = reg.params()[i];
    TensorView v = reg.value(static_cast<nn::ParamId>(i)), gr = reg.grad(static_cast<nn::ParamId>(i));
    int failures = 0;
    for (const int64_t j : sample_entries(gr, opt.max_elements, rng)) {
      if (failures >= 3) break;
      double* x = v.data<double>() + j;
      const double saved = *x;
      *x = saved + opt.h;
      const double lp = loss_now();
      *x = saved - opt.h;
      const double lm = loss_now();
      *x = saved;
      const double numeric = (lp - lm) / (2 * opt.h), analytic = gr.at(j);
      const double tol = opt.atol + opt.rtol * std::max(std::fabs(numeric), std::fabs(analytic));
      if (!(std::fabs(analytic - numeric) <= tol)) {
        ++failures;
        ADD_FAILURE() << name << ": " << p.name << " element " << j << ": analytic " << analytic << " vs numeric "
                      << numeric;
      }
    }
  }
}

double max_abs_diff(const TensorView& a, const TensorView& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (!(a.shape() == b.shape())) return INFINITY;
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::fabs(a.at(i) - b.at(i));
    if (std::isnan(d)) return d;  // a NaN anywhere fails every tolerance
    m = std::max(m, d);
  }
  return m;
}

}  // namespace blt::test
