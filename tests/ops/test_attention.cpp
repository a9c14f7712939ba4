// attention: the tiled kernel against the naive O(T²) reference on random
// shapes and every mask kind, gradients against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "ops/attention.h"
#include "ops/mask.h"
#include "support/attention_case.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

using ops::KeyRange;

// Random ranges, some empty, some of length 1.
std::vector<KeyRange> random_ranges(int64_t n, int64_t Tk, uint64_t seed) {
  Rng rng(seed);
  std::vector<KeyRange> r(n);
  for (auto& k : r) {
    const int32_t a = static_cast<int32_t>(rng.below(Tk + 1)), b = static_cast<int32_t>(rng.below(Tk + 1));
    const uint64_t kind = rng.below(5);
    if (kind == 0) k = {a, a};                                          // empty
    else if (kind == 1) k = {std::min<int32_t>(a, Tk - 1), std::min<int32_t>(a, Tk - 1) + 1};  // one key
    else k = {std::min(a, b), std::max(a, b)};
  }
  return r;
}

std::vector<AttnCase> cases() {
  std::vector<AttnCase> c;
  c.push_back({"T1", 1, 1, 1, 1, 1, 4, {{0, 1}}});
  c.push_back({"causal", 2, 37, 37, 4, 4, 8, repeat_rows(ops::causal_ranges(37), 2)});
  c.push_back({"causal_multi_tile", 1, 300, 300, 2, 1, 16, ops::causal_ranges(300)});
  c.push_back({"window", 1, 300, 300, 4, 2, 8, ops::causal_ranges(300, 17)});
  c.push_back({"window_1", 1, 70, 70, 2, 2, 4, ops::causal_ranges(70, 1)});
  {
    auto toks = random_docs(2 * 200, 5);
    c.push_back({"block_causal", 2, 200, 200, 3, 1, 6, ops::block_causal_ranges(toks, 2, 200, 2)});
    c.push_back({"local_block_causal", 2, 200, 200, 2, 2, 6, ops::block_causal_ranges(toks, 2, 200, 2, 13)});
  }
  c.push_back({"cross_random", 2, 90, 333, 4, 2, 8, random_ranges(2 * 90, 333, 9)});
  c.push_back({"all_empty", 1, 5, 7, 1, 1, 4, std::vector<KeyRange>(5, KeyRange{3, 3})});
  c.push_back({"odd_dims", 1, 65, 260, 3, 3, 2, random_ranges(65, 260, 11)});
  return c;
}

TEST(Attention, TiledForwardMatchesNaive) {
  for (const AttnCase& c : cases()) {
    for (DType dt : {DType::F32, DType::F64}) {
      Tensor q = random_tensor(Shape{c.B, c.Tq, c.Hq, c.Dh}, 1, 2.0, dt);
      Tensor k = random_tensor(Shape{c.B, c.Tk, c.Hkv, c.Dh}, 2, 2.0, dt);
      Tensor v = random_tensor(Shape{c.B, c.Tk, c.Hkv, c.Dh}, 3, 1.0, dt);
      Graph g;
      Var out = ops::attention(g, Graph::constant(q), Graph::constant(k), Graph::constant(v), c.ranges,
                               1 / std::sqrt(double(c.Dh)));
      Tensor ref = Tensor::zeros(q.shape(), dt);
      const ops::AttnDims d{c.B, c.Tq, c.Tk, c.Hq, c.Hkv, c.Dh, 1 / std::sqrt(double(c.Dh))};
      dispatch(dt, [&]<class T>() {
        ops::attention_forward_naive<T>(d, q.data<T>(), k.data<T>(), v.data<T>(), c.ranges.data(), ref.data<T>());
      });
      EXPECT_LT(max_abs_diff(out.value, ref), dt == DType::F32 ? 2e-6 : 1e-12) << c.name;
    }
  }
}

TEST(Attention, EmptyRangeGivesZeroOutput) {
  Tensor q = random_tensor(Shape{1, 3, 1, 4}, 1, 1.0, DType::F32), k = random_tensor(Shape{1, 5, 1, 4}, 2, 1.0, DType::F32);
  std::vector<KeyRange> r = {{0, 2}, {4, 4}, {1, 5}};
  Graph g;
  Var out = ops::attention(g, Graph::constant(q), Graph::constant(k), Graph::constant(k), r, 0.5);
  for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(out.value.at(4 + c), 0.0f);
}

TEST(Attention, GradCheckEveryMaskKind) {
  for (const AttnCase& c : cases()) {
    GradCheckOptions opt;
    opt.max_elements = 24;
    gradcheck("attention " + c.name,
              {random_tensor(Shape{c.B, c.Tq, c.Hq, c.Dh}, 4, 1.5), random_tensor(Shape{c.B, c.Tk, c.Hkv, c.Dh}, 5, 1.5),
               random_tensor(Shape{c.B, c.Tk, c.Hkv, c.Dh}, 6)},
              [&](Graph& g, const std::vector<Var>& in) {
                return ops::attention(g, in[0], in[1], in[2], c.ranges, 1 / std::sqrt(double(c.Dh)));
              },
              opt);
  }
}

TEST(Attention, CountsUnmaskedPairs) {
  auto r = ops::causal_ranges(10, 3);
  EXPECT_EQ(ops::attention_pairs(r), 1 + 2 + 8 * 3);
}

TEST(Attention, BadShapesThrow) {
  Tensor q = Tensor::zeros(Shape{1, 4, 3, 8}), k = Tensor::zeros(Shape{1, 4, 2, 8});
  auto r = ops::causal_ranges(4);
  Graph g;
  EXPECT_THROW(ops::attention(g, Graph::constant(q), Graph::constant(k), Graph::constant(k), r, 1.0), ShapeError);
  std::vector<KeyRange> bad = {{0, 1}, {0, 2}, {0, 3}, {0, 5}};
  Tensor q2 = Tensor::zeros(Shape{1, 4, 2, 8});
  EXPECT_THROW(ops::attention(g, Graph::constant(q2), Graph::constant(k), Graph::constant(k), bad, 1.0), ShapeError);
}

}  // namespace
}  // namespace blt::test
