// The fast attention forwards (ops/attention_kernels.h) at the shapes they take: fp32 on AVX-512 and on
// AVX2 against the naive f64 reference (output at the tiled kernel's tolerance, and lse), with backward
// gradients from the saved lse (the AVX2 backward's against the double path's);
// bf16 on AMX and on AVX512-BF16 (VDPBF16PS) against the f64 reference on bf16-rounded inputs, within
// the bound that rounding the probabilities to bf16 allows. Each kernel's test skips, visibly, where the
// kernel does not run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/bf16.h"
#include "ops/attention.h"
#include "ops/attention_kernels.h"
#include "ops/mask.h"
#include "support/attention_case.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

using ops::KeyRange;

// Several key chunks and row blocks, partial last blocks, grouped heads (the head-contiguous K/V copy),
// one kv head (K/V read in place), every Dh the bf16 kernel takes (32, 64, 128) and a few it does not.
std::vector<AttnCase> cases() {
  return {
      {"causal_dh64_gqa", 1, 300, 300, 4, 2, 64, ops::causal_ranges(300)},
      {"window_dh64", 2, 131, 131, 2, 2, 64, repeat_rows(ops::causal_ranges(131, 40), 2)},
      {"causal_dh32_mqa", 1, 100, 100, 3, 1, 32, ops::causal_ranges(100)},
      {"cross_dh64", 2, 45, 333, 4, 4, 64, random_ranges(2 * 45, 333, 3)},
      {"cross_dh80", 1, 70, 150, 2, 1, 80, random_ranges(70, 150, 4)},
      {"causal_dh24", 1, 90, 90, 2, 2, 24, ops::causal_ranges(90)},
      {"window_dh128_gqa", 2, 77, 77, 4, 2, 128, repeat_rows(ops::causal_ranges(77, 50), 2)},
  };
}

ops::AttnDims dims(const AttnCase& c) {
  return {c.B, c.Tq, c.Tk, c.Hq, c.Hkv, c.Dh, 1 / std::sqrt(double(c.Dh))};
}

struct Inputs {
  Tensor q, k, v;
};

// q, k uniform in ±2 (scores up to a few units), v in ±1; with `grow`, keys of later positions scaled up
// so that the scores' row maxima rise from chunk to chunk by far more than the AMX kernel's slack.
Inputs inputs(const AttnCase& c, DType dt, bool grow = false) {
  Inputs in{random_tensor(Shape{c.B, c.Tq, c.Hq, c.Dh}, 1, 2.0, dt),
            random_tensor(Shape{c.B, c.Tk, c.Hkv, c.Dh}, 2, 2.0, dt),
            random_tensor(Shape{c.B, c.Tk, c.Hkv, c.Dh}, 3, 1.0, dt)};
  if (grow)
    for (int64_t i = 0; i < in.k.numel(); ++i)
      in.k.data<float>()[i] *= 1 + static_cast<float>(i / (c.Hkv * c.Dh) % c.Tk) / 64;
  return in;
}

Tensor run(const AttnCase& c, const Inputs& in, Precision p) {
  Graph g;
  g.set_precision(p);
  Var o = ops::attention(g, Graph::constant(in.q), Graph::constant(in.k), Graph::constant(in.v), c.ranges,
                         1 / std::sqrt(double(c.Dh)));
  Tensor out = Tensor::zeros(o.shape());
  std::copy_n(o.value.data<float>(), out.numel(), out.data<float>());
  return out;
}

Tensor naive(const AttnCase& c, const Inputs& in) {
  Tensor ref = Tensor::zeros(in.q.shape());
  ops::attention_forward_naive<float>(dims(c), in.q.data<float>(), in.k.data<float>(), in.v.data<float>(),
                                      c.ranges.data(), ref.data<float>());
  return ref;
}

// A forward kernel called directly (the graph takes the fastest one that runs): whether it runs at these
// dims, and the kernel.
struct Kernel {
  bool (*runs)(const ops::AttnDims&);
  void (*forward)(const ops::AttnDims&, const float*, const float*, const float*, const KeyRange*, float*,
                  float*);
};

struct KernelOut {
  Tensor out, lse;
};

KernelOut run_kernel(const Kernel& kernel, const AttnCase& c, const Inputs& in) {
  KernelOut r{Tensor::zeros(in.q.shape()), Tensor::zeros(Shape{c.B, c.Hq, c.Tq})};
  kernel.forward(dims(c), in.q.data<float>(), in.k.data<float>(), in.v.data<float>(), c.ranges.data(),
                 r.out.data<float>(), r.lse.data<float>());
  return r;
}

// lse (B, Hq, Tq) = log Σ_j exp(scale·q·k_j) over each row's keys, in double; −inf for rows with none.
std::vector<double> naive_lse(const AttnCase& c, const Inputs& in) {
  std::vector<double> lse;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t t = 0; t < c.Tq; ++t) {
        const KeyRange r = c.ranges[b * c.Tq + t];
        std::vector<double> s;
        for (int32_t j = r.lo; j < r.hi; ++j) {
          const float* q = in.q.data<float>() + ((b * c.Tq + t) * c.Hq + h) * c.Dh;
          const float* k = in.k.data<float>() + ((b * c.Tk + j) * c.Hkv + h / (c.Hq / c.Hkv)) * c.Dh;
          double dot = 0;
          for (int64_t i = 0; i < c.Dh; ++i) dot += double(q[i]) * k[i];
          s.push_back(dot / std::sqrt(double(c.Dh)));
        }
        const double m = s.empty() ? -INFINITY : *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (const double x : s) sum += std::exp(x - m);
        lse.push_back(s.empty() ? -INFINITY : m + std::log(sum));
      }
  return lse;
}

// Output at the tiled kernel's tolerance, lse within float rounding of its few-unit size, and −inf exactly
// for the rows without keys (cross_dh64's random ranges hold some).
void expect_matches_naive(const Kernel& kernel) {
  for (const AttnCase& c : cases()) {
    const Inputs in = inputs(c, DType::F32);
    const KernelOut r = run_kernel(kernel, c, in);
    EXPECT_LT(max_abs_diff(r.out, naive(c, in)), 2e-6) << c.name;
    const std::vector<double> ref = naive_lse(c, in);
    for (size_t i = 0; i < ref.size(); ++i) {
      const float got = r.lse.data<float>()[i];
      if (std::isinf(ref[i]))
        ASSERT_EQ(got, -INFINITY) << c.name << " row " << i;
      else
        ASSERT_NEAR(got, ref[i], 2e-5) << c.name << " row " << i;
    }
  }
}

TEST(AttentionKernels, F32MatchesNaive) {
  if (!ops::detail::use_attention_f32(dims(cases()[0])))
    GTEST_SKIP() << "no AVX-512F: the fp32 AVX-512 attention kernel does not run here";
  expect_matches_naive({ops::detail::use_attention_f32, ops::detail::attention_forward_f32});
}

TEST(AttentionKernels, F32Avx2MatchesNaive) {
  if (!ops::detail::use_attention_f32_avx2(dims(cases()[0])))
    GTEST_SKIP() << "no AVX2 and FMA: the fp32 AVX2 attention kernel does not run here";
  expect_matches_naive({ops::detail::use_attention_f32_avx2, ops::detail::attention_forward_f32_avx2});
}

// dq, dk, dv of Σ attention(q, k, v)·R at dtype dt and precision p (R seeded).
std::vector<Tensor> grads(const AttnCase& c, DType dt, Precision p) {
  const Inputs in = inputs(c, dt);
  Tensor dq = Tensor::zeros(in.q.shape(), dt), dk = Tensor::zeros(in.k.shape(), dt),
         dv = Tensor::zeros(in.v.shape(), dt);
  Graph g;
  g.set_precision(p);
  Var o = ops::attention(g, Var{in.q.view(), dq.view()}, Var{in.k.view(), dk.view()},
                         Var{in.v.view(), dv.view()}, c.ranges, 1 / std::sqrt(double(c.Dh)));
  const Tensor r = random_tensor(o.shape(), 7, 1.0, dt);
  TensorView dout = o.grad();
  std::copy_n(static_cast<const char*>(r.view().raw()), r.view().nbytes(), static_cast<char*>(dout.raw()));
  g.backward();
  return {dq, dk, dv};
}

// The backward recomputes P from the lse the forward saved: float gradients after the fp32 kernel's
// forward agree with the double path's (tiled forward and backward, checked by finite differences).
TEST(AttentionKernels, F32ForwardFeedsBackward) {
  const ops::AttnDims d = dims(cases()[0]);
  if (!ops::detail::use_attention_f32(d) && !ops::detail::use_attention_f32_avx2(d))
    GTEST_SKIP() << "no AVX-512F or AVX2: no fp32 lane attention kernel runs here";
  for (const AttnCase& c : {cases()[0], cases()[3]}) {
    const auto f32 = grads(c, DType::F32, Precision::F32), f64 = grads(c, DType::F64, Precision::F32);
    for (int i = 0; i < 3; ++i) EXPECT_LT(max_abs_diff(f32[i], f64[i]), 2e-4) << c.name << " input " << i;
  }
}

// The AVX2 backward called directly (on AVX-512 CPUs too, where the graph keeps the tiled backward), from
// the AVX2 forward's lse, against the double path's gradients (tiled forward and backward, checked by
// finite differences) for every case, once with all three gradients and once with each left out; the
// gradients are added to what the buffers hold (0.5 here).
TEST(AttentionKernels, F32Avx2BackwardMatchesDouble) {
  if (!ops::detail::use_attention_f32_avx2_backward(dims(cases()[0])))
    GTEST_SKIP() << "no AVX2 and FMA: the fp32 AVX2 attention backward does not run here";
  for (const AttnCase& c : cases()) {
    ASSERT_TRUE(ops::detail::use_attention_f32_avx2_backward(dims(c))) << c.name;
    const Inputs in = inputs(c, DType::F32);
    const KernelOut f =
        run_kernel({ops::detail::use_attention_f32_avx2, ops::detail::attention_forward_f32_avx2}, c, in);
    const Tensor dout = random_tensor(in.q.shape(), 7, 1.0, DType::F32);  // grads()'s R
    std::vector<Tensor> ref = grads(c, DType::F64, Precision::F32);
    for (Tensor& t : ref)
      for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] += 0.5;
    for (int left_out = -1; left_out < 3; ++left_out) {
      std::vector<Tensor> g;
      for (const Tensor* x : {&in.q, &in.k, &in.v}) {
        g.push_back(Tensor::zeros(x->shape()));
        for (int64_t i = 0; i < x->numel(); ++i) g.back().data<float>()[i] = 0.5f;
      }
      auto buf = [&](int i) { return i == left_out ? nullptr : g[i].data<float>(); };
      ops::detail::attention_backward_f32_avx2(dims(c), in.q.data<float>(), in.k.data<float>(),
                                               in.v.data<float>(), c.ranges.data(), f.out.data<float>(),
                                               f.lse.data<float>(), dout.data<float>(), buf(0), buf(1),
                                               buf(2));
      for (int i = 0; i < 3; ++i) {
        if (i == left_out) continue;
        EXPECT_LT(max_abs_diff(g[i], ref[i]), 2e-4) << c.name << " input " << i << " without " << left_out;
      }
    }
  }
}

// The same through the graph at Precision::BF16 (the bf16 forward's lse, in natural-log units, feeds the
// bf16 backward, AMX's or VDPBF16PS's): the gradients are the double path's to bf16 accuracy (a few 2⁻⁸ of
// their O(1) size).
bool bf16_backward_runs(const ops::AttnDims& d) {
  return ops::detail::use_attention_amx(d) || ops::detail::use_attention_avx512bf16_backward(d);
}

TEST(AttentionKernels, Bf16ForwardFeedsBackward) {
  if (!bf16_backward_runs(dims(cases()[0])))
    GTEST_SKIP() << "no AMX-BF16 or AVX512-BF16: no bf16 attention backward runs here";
  for (const AttnCase& c : {cases()[0], cases()[3], cases()[6]}) {
    const auto b16 = grads(c, DType::F32, Precision::BF16), f64 = grads(c, DType::F64, Precision::F32);
    const auto f32 = grads(c, DType::F32, Precision::F32);
    for (int i = 0; i < 3; ++i) {
      EXPECT_LT(max_abs_diff(b16[i], f64[i]), 0.05) << c.name << " input " << i;
      EXPECT_GT(max_abs_diff(b16[i], f32[i]), 0.0) << c.name << " input " << i << ": the fp32 kernels ran";
    }
  }
}

// Where no bf16 backward takes the head dim (24: not a multiple of 16), a gradient at Precision::BF16
// takes the fp32 forward and backward (the fp32 backward recomputes P from unrounded q, k: a bf16 forward's
// lse would not match it): bit for bit fp32's.
TEST(AttentionKernels, HeadDimsWithoutABf16BackwardTakeFp32) {
  for (const AttnCase& c : {cases()[5]}) {
    ASSERT_FALSE(bf16_backward_runs(dims(c))) << c.name;
    const auto b16 = grads(c, DType::F32, Precision::BF16), f32 = grads(c, DType::F32, Precision::F32);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(max_abs_diff(b16[i], f32[i]), 0.0) << c.name << " input " << i;
  }
}

bool some_bf16_kernel_runs(const ops::AttnDims& d) {
  return ops::detail::use_attention_amx(d) || ops::detail::use_attention_avx512bf16(d);
}

void round_to_bf16(Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = round_bf16(t.data<float>()[i]);
}

// max over (batch, head, query, key) of scale·Σ_c |q_c|·|k_c|: what a float32 score's rounding scales with.
double max_abs_score(const AttnCase& c, const Inputs& in) {
  double mx = 0;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t t = 0; t < c.Tq; ++t)
        for (int64_t s = 0; s < c.Tk; ++s) {
          const float* q = in.q.data<float>() + ((b * c.Tq + t) * c.Hq + h) * c.Dh;
          const float* k = in.k.data<float>() + ((b * c.Tk + s) * c.Hkv + h / (c.Hq / c.Hkv)) * c.Dh;
          double a = 0;
          for (int64_t i = 0; i < c.Dh; ++i) a += std::fabs(q[i] * k[i]);
          mx = std::max(mx, a / std::sqrt(double(c.Dh)));
        }
  return mx;
}

// With q, k, v already bf16 values, the products are exact in float32 and the kernel's roundings are:
// P = exp(S − m) to bf16 before O = Σ P V / l (8 significant bits: relative u = 2⁻⁸ each, l sums the
// unrounded P), so |ΔO| ≤ u·max|v|; the float32 scores, ≤ Dh·2⁻²⁴·A off (A = max scale·Σ|q||k|), and
// the exp, within 2⁻¹⁸ (a short series: P is rounded to bf16 next), which move each P by a relative
// e ≤ Dh·2⁻²⁴·A + 2⁻¹⁸ and O by ≤ 2e·max|v|; and the float32 sums of
// P V and l over ≤ Tk keys, ≤ 2·Tk·2⁻²⁴·max|v|. With |v| < 1 the bound is u + 2e + 2·Tk·2⁻²⁴.
void expect_matches_naive_on_rounded_inputs(const Kernel& kernel) {
  for (bool grow : {false, true})
    for (const AttnCase& c : cases()) {
      if (!kernel.runs(dims(c))) continue;  // Dh it does not take: the fp32 kernel runs
      Inputs in = inputs(c, DType::F32, grow);
      for (Tensor* t : {&in.q, &in.k, &in.v}) round_to_bf16(*t);
      const double e = c.Dh * std::ldexp(max_abs_score(c, in), -24) + std::ldexp(1.0, -18);
      const double bound = std::ldexp(1.0, -8) + 2 * e + 2 * c.Tk * std::ldexp(1.0, -24);
      EXPECT_LT(max_abs_diff(run_kernel(kernel, c, in).out, naive(c, in)), bound)
          << c.name << (grow ? " grow" : "");
    }
}

TEST(AttentionKernels, Bf16MatchesNaiveOnRoundedInputs) {
  if (!ops::detail::use_attention_amx(dims(cases()[0])))
    GTEST_SKIP() << "no AMX-BF16 (or no OS permission for it): the bf16 attention kernel does not run here";
  expect_matches_naive_on_rounded_inputs(
      {ops::detail::use_attention_amx, ops::detail::attention_forward_amx});
}

// The same bound holds for VDPBF16PS: its pair products are exact in float32, its sums float32.
TEST(AttentionKernels, Bf16Avx512MatchesNaiveOnRoundedInputs) {
  if (!ops::detail::use_attention_avx512bf16(dims(cases()[0])))
    GTEST_SKIP() << "no AVX512-BF16: the VDPBF16PS attention kernel does not run here";
  expect_matches_naive_on_rounded_inputs(
      {ops::detail::use_attention_avx512bf16, ops::detail::attention_forward_avx512bf16});
}

// On inputs that are not bf16 values the bf16 kernel rounds them: its output differs from the fp32 one.
TEST(AttentionKernels, Bf16RoundsItsInputs) {
  const AttnCase c = cases()[0];
  if (!some_bf16_kernel_runs(dims(c)))
    GTEST_SKIP() << "no AMX-BF16 or AVX512-BF16: no bf16 attention kernel runs here";
  const Inputs in = inputs(c, DType::F32);
  const double diff = max_abs_diff(run(c, in, Precision::BF16), run(c, in, Precision::F32));
  EXPECT_GT(diff, 1e-4);
  EXPECT_LT(diff, 5e-2);
}

}  // namespace
}  // namespace blt::test
