// The bf16 attention backwards, on AMX tiles and on VDPBF16PS (ops/attention_kernels.h), against the
// double tiled backward on
// bf16-rounded inputs, for every mask kind, ragged lengths, grouped heads and Dh 32/64/128: each
// gradient element within a bound derived from bf16's 8-bit significand and the reduction length
// (stated at `bound_factor`). The kernel is fed the exact forward (out, lse), so only its own roundings
// count. Each kernel skips, visibly, where it does not run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "core/rng.h"
#include "ops/attention.h"
#include "ops/attention_kernels.h"
#include "ops/mask.h"
#include "support/attention_case.h"

namespace blt::test {
namespace {

using ops::KeyRange;

// Lengths that are not multiples of the kernel's 32 rows or keys, and one just above its 16-row minimum.
std::vector<AttnCase> cases() {
  const auto docs = random_docs(2 * 150, 5, 25);
  return {
      {"causal_dh64_gqa", 1, 300, 300, 4, 2, 64, ops::causal_ranges(300)},
      {"window_dh32", 2, 131, 131, 2, 2, 32, repeat_rows(ops::causal_ranges(131, 40), 2)},
      {"block_causal_dh128_mqa", 2, 150, 150, 2, 1, 128, ops::block_causal_ranges(docs, 2, 150, 2)},
      {"local_block_causal_dh64", 2, 150, 150, 2, 2, 64, ops::block_causal_ranges(docs, 2, 150, 2, 13)},
      {"cross_dh64", 2, 45, 333, 4, 4, 64, random_ranges(2 * 45, 333, 3)},
      {"cross_dh128", 1, 70, 150, 2, 1, 128, random_ranges(70, 150, 4)},
      {"causal_dh32_17_rows", 1, 17, 17, 1, 1, 32, ops::causal_ranges(17)},
  };
}

ops::AttnDims dims(const AttnCase& c) {
  return {c.B, c.Tq, c.Tk, c.Hq, c.Hkv, c.Dh, 1 / std::sqrt(double(c.Dh))};
}

// n values uniform in ±scale, rounded to bf16.
std::vector<float> bf16_values(int64_t n, uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (float& v : x) v = round_bf16(static_cast<float>(scale * (2 * rng.uniform() - 1)));
  return x;
}

template <class To, class From>
std::vector<To> cast(const std::vector<From>& x) {
  return std::vector<To>(x.begin(), x.end());
}

// One case's inputs (bf16 values: q, k in ±2, v, dO in ±1) and the double forward and backward.
struct Problem {
  std::vector<float> q, k, v, dout;
  std::vector<double> out, lse, dq, dk, dv;
};

Problem problem(const AttnCase& c) {
  const ops::AttnDims d = dims(c);
  const int64_t nq = c.B * c.Tq * c.Hq * c.Dh, nk = c.B * c.Tk * c.Hkv * c.Dh;
  Problem p{bf16_values(nq, 1, 2), bf16_values(nk, 2, 2), bf16_values(nk, 3, 1), bf16_values(nq, 4, 1),
            std::vector<double>(nq), std::vector<double>(c.B * c.Hq * c.Tq), std::vector<double>(nq),
            std::vector<double>(nk), std::vector<double>(nk)};
  const auto q = cast<double>(p.q), k = cast<double>(p.k), v = cast<double>(p.v), dout = cast<double>(p.dout);
  ops::attention_forward<double>(d, q.data(), k.data(), v.data(), c.ranges.data(), p.out.data(), p.lse.data());
  ops::attention_backward<double>(d, q.data(), k.data(), v.data(), c.ranges.data(), p.out.data(), p.lse.data(),
                                  dout.data(), p.dq.data(), p.dk.data(), p.dv.data());
  return p;
}

// What each gradient's rounding error scales with, exactly (in double): with P = exp(S − lse) and
// dS = P ∘ (dP − D), aq = scale·Σ_k |dS||K|, ak = scale·Σ_q |dS||Q|, av = Σ_q P|dO|.
struct Magnitudes {
  std::vector<double> aq, ak, av;
};

Magnitudes magnitudes(const AttnCase& c, const Problem& p) {
  const int64_t group = c.Hq / c.Hkv, ldq = c.Hq * c.Dh, ldk = c.Hkv * c.Dh;
  const double scale = 1 / std::sqrt(double(c.Dh));
  Magnitudes m{std::vector<double>(p.dq.size()), std::vector<double>(p.dk.size()), std::vector<double>(p.dv.size())};
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t t = 0; t < c.Tq; ++t) {
        const KeyRange r = c.ranges[b * c.Tq + t];
        const int64_t qo = (b * c.Tq + t) * ldq + h * c.Dh;
        double D = 0;
        for (int64_t i = 0; i < c.Dh; ++i) D += p.dout[qo + i] * p.out[qo + i];
        for (int64_t s = std::max(r.lo, 0); s < r.hi; ++s) {
          const int64_t ko = (b * c.Tk + s) * ldk + h / group * c.Dh;
          double qk = 0, dp = 0;
          for (int64_t i = 0; i < c.Dh; ++i) {
            qk += double(p.q[qo + i]) * p.k[ko + i];
            dp += double(p.dout[qo + i]) * p.v[ko + i];
          }
          const double P = std::exp(qk * scale - p.lse[(b * c.Hq + h) * c.Tq + t]), ds = std::fabs(P * (dp - D));
          for (int64_t i = 0; i < c.Dh; ++i) {
            m.aq[qo + i] += scale * ds * std::fabs(p.k[ko + i]);
            m.ak[ko + i] += scale * ds * std::fabs(p.q[qo + i]);
            m.av[ko + i] += P * std::fabs(p.dout[qo + i]);
          }
        }
      }
  return m;
}

// The kernel rounds P (for dV) and dS (for dQ, dK) to bf16, to nearest: a relative error ≤ 2⁻⁹ each,
// taken as u = 2⁻⁸. P itself is off by a relative e: the 2⁻¹⁸ of its short exp, and float32 rounding of
// the scores (Dh products: Dh·2⁻²⁴·|S|), of lse and of the exponent (a few 2⁻²⁴·(|S| + |lse|)), with
// |S| ≤ 2·2·Dh·scale here (q, k in ±2); it moves dS by e too. The tiles accumulate in float32 over the
// reduction length R (Tk for dQ, Tq for dK, dV): R·2⁻²⁴ relative. So |Δ| ≤ (u + 2e + R·2⁻²⁴)·a, plus the
// float32 error of dP and D (2·Dh·2⁻²⁴ of Σ|dO||V| ≤ Dh, times scale·Σ P|K| ≤ 2·scale), `absolute`.
double bound_factor(const AttnCase& c, int64_t R) {
  const double S = 4.0 * c.Dh / std::sqrt(double(c.Dh)), lse = S + std::log(double(c.Tk));
  const double e = std::ldexp(1.0, -18) + (c.Dh + 8) * std::ldexp(S + lse, -24);
  return std::ldexp(1.0, -8) + 2 * e + R * std::ldexp(1.0, -24);
}

double absolute(const AttnCase& c) {
  return 2 * c.Dh * std::ldexp(double(c.Dh), -24) * 2 / std::sqrt(double(c.Dh));
}

// Elements of got − init where |got − init − want| > factor·a + abs, and the worst ratio to that bound.
struct Excess {
  int64_t n = 0;
  double worst = 0;
};

Excess excess(const std::vector<float>& got, float init, const std::vector<double>& want,
              const std::vector<double>& a, double factor, double abs) {
  Excess x;
  for (size_t i = 0; i < got.size(); ++i) {
    const double ratio = std::fabs(got[i] - init - want[i]) / (factor * a[i] + abs);
    x.worst = std::max(x.worst, ratio);
    x.n += ratio > 1;
  }
  return x;
}

using BackwardFn = void (*)(const ops::AttnDims&, const float*, const float*, const float*, const KeyRange*,
                           const float*, const float*, const float*, float*, float*, float*);

struct Kernel {
  const char* name;
  bool (*runs)(const ops::AttnDims&);
  BackwardFn backward;
};

void PrintTo(const Kernel& k, std::ostream* os) { *os << k.name; }

const Kernel kKernels[] = {
    {"amx", ops::detail::use_attention_amx, ops::detail::attention_backward_amx},
    {"avx512bf16", ops::detail::use_attention_avx512bf16_backward, ops::detail::attention_backward_avx512bf16},
};

class AttentionBf16Backward : public ::testing::TestWithParam<Kernel> {
 protected:
  void SetUp() override {
    if (!GetParam().runs(dims(cases()[0])))
      GTEST_SKIP() << "the " << GetParam().name << " bf16 attention backward does not run on this CPU";
  }
};

TEST_P(AttentionBf16Backward, MatchesDoubleOnRoundedInputs) {
  for (const AttnCase& c : cases()) {
    ASSERT_TRUE(GetParam().runs(dims(c))) << c.name;
    const Problem p = problem(c);
    const Magnitudes m = magnitudes(c, p);
    const auto out = cast<float>(p.out), lse = cast<float>(p.lse);
    constexpr float kInit = 0.5f;  // the kernel accumulates: the gradients start at kInit
    std::vector<float> dq(p.dq.size(), kInit), dk(p.dk.size(), kInit), dv(p.dv.size(), kInit);
    GetParam().backward(dims(c), p.q.data(), p.k.data(), p.v.data(), c.ranges.data(), out.data(), lse.data(),
                        p.dout.data(), dq.data(), dk.data(), dv.data());
    const Excess xq = excess(dq, kInit, p.dq, m.aq, bound_factor(c, c.Tk), absolute(c));
    const Excess xk = excess(dk, kInit, p.dk, m.ak, bound_factor(c, c.Tq), absolute(c));
    const Excess xv = excess(dv, kInit, p.dv, m.av, bound_factor(c, c.Tq), absolute(c));
    EXPECT_EQ(xq.n, 0) << c.name << " dq: worst error / bound " << xq.worst;
    EXPECT_EQ(xk.n, 0) << c.name << " dk: worst error / bound " << xk.worst;
    EXPECT_EQ(xv.n, 0) << c.name << " dv: worst error / bound " << xv.worst;
  }
}

// Any of dq, dk, dv may be null (an input that needs no gradient): the others are the same.
TEST_P(AttentionBf16Backward, NullGradientsAreSkipped) {
  const AttnCase c = cases()[4];
  const Problem p = problem(c);
  const auto out = cast<float>(p.out), lse = cast<float>(p.lse);
  std::vector<float> dq(p.dq.size()), dk(p.dk.size()), dv(p.dv.size()), dk_alone(p.dk.size());
  const auto run = [&](float* q, float* k, float* v) {
    GetParam().backward(dims(c), p.q.data(), p.k.data(), p.v.data(), c.ranges.data(), out.data(), lse.data(),
                        p.dout.data(), q, k, v);
  };
  run(dq.data(), dk.data(), dv.data());
  run(nullptr, dk_alone.data(), nullptr);
  EXPECT_EQ(dk, dk_alone);
}

INSTANTIATE_TEST_SUITE_P(Kernels, AttentionBf16Backward, ::testing::ValuesIn(kKernels),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace blt::test
