// RoPE tables and forward/backward. Forward: (o0, o1) = (c x0 − s x1, s x0 + c x1);
// backward applies the transpose: (d0, d1) -> (c d0 + s d1, −s d0 + c d1).
#include "ops/rope.h"

#include <cmath>

#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"

namespace blt::ops {

RopeTable::RopeTable(double theta, int64_t head_dim, int64_t max_positions)
    : head_dim_(head_dim), max_positions_(max_positions) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    throw ShapeError("[rope] head_dim must be even and positive, got " + std::to_string(head_dim));
  const int64_t half = head_dim / 2;
  const size_t n = static_cast<size_t>(max_positions * half);
  cos32_.resize(n);
  sin32_.resize(n);
  cos64_.resize(n);
  sin64_.resize(n);
  std::vector<float> freq(half);
  for (int64_t i = 0; i < half; ++i) {
    // float32 throughout, as torch: arange(0,dim,2).float() / dim, theta ** that, 1.0 / that.
    const float expo = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const float p = std::pow(static_cast<float>(theta), expo);
    freq[i] = 1.0f / p;
  }
  for (int64_t t = 0; t < max_positions; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(t) * freq[i];  // float32 outer product
      const size_t k = static_cast<size_t>(t * half + i);
      cos64_[k] = std::cos(static_cast<double>(angle));
      sin64_[k] = std::sin(static_cast<double>(angle));
      cos32_[k] = static_cast<float>(cos64_[k]);
      sin32_[k] = static_cast<float>(sin64_[k]);
    }
}

template <>
const float* RopeTable::cos<float>() const { return cos32_.data(); }
template <>
const float* RopeTable::sin<float>() const { return sin32_.data(); }
template <>
const double* RopeTable::cos<double>() const { return cos64_.data(); }
template <>
const double* RopeTable::sin<double>() const { return sin64_.data(); }

namespace {
constexpr double kParallelWork = 65536;  // below this many elements a call runs on one thread

// out = R(sign·angle) x for every (row, t, head): Transpose flips the sine's sign.
template <class T, bool Transpose, bool Accumulate>
void rotate(const RopeTable& table, const int32_t* pos, const T* x, T* out, int64_t R, int64_t Tn, int64_t H) {
  const int64_t Dh = table.head_dim(), half = Dh / 2;
  const T* ct = table.cos<T>();
  const T* st = table.sin<T>();
  // One item per (row, t): all H heads at that position share its cos/sin row.
  parallel_for(R * Tn, worth_forking(static_cast<double>(R * Tn) * H * Dh, kParallelWork), [&](int64_t rt) {
    const int64_t t = rt % Tn;
    const T* c = ct + static_cast<int64_t>(pos[t]) * half;
    const T* s = st + static_cast<int64_t>(pos[t]) * half;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t base = (rt * H + h) * Dh;
      const T* xi = x + base;
      T* oi = out + base;
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const T x0 = xi[2 * i], x1 = xi[2 * i + 1];
        const T sn = Transpose ? -s[i] : s[i];
        const T o0 = c[i] * x0 - sn * x1;
        const T o1 = sn * x0 + c[i] * x1;
        oi[2 * i] = Accumulate ? oi[2 * i] + o0 : o0;
        oi[2 * i + 1] = Accumulate ? oi[2 * i + 1] + o1 : o1;
      }
    }
  });
}
}  // namespace

template <class T>
void rope_forward(const RopeTable& table, const int32_t* pos, const T* x, T* out, int64_t R, int64_t Tn, int64_t H) {
  rotate<T, false, false>(table, pos, x, out, R, Tn, H);
}

template <class T>
void rope_backward(const RopeTable& table, const int32_t* pos, const T* dout, T* dx, int64_t R, int64_t Tn,
                   int64_t H) {
  rotate<T, true, true>(table, pos, dout, dx, R, Tn, H);
}

Var rope(Graph& g, const Var& x, const RopeTable& table, std::span<const int32_t> pos) {
  const Shape& s = x.shape();
  check(s.rank() == 4 && s[3] == table.head_dim(), "rope",
        [&] { return describe("x", s) + " vs head_dim " + std::to_string(table.head_dim()); });
  check(static_cast<int64_t>(pos.size()) == s[1], "rope",
        [&] { return std::to_string(pos.size()) + " positions for " + describe("x", s); });
  for (int32_t p : pos)
    check(p >= 0 && p < table.max_positions(), "rope", [&] {
      return "position " + std::to_string(p) + " outside the table of " + std::to_string(table.max_positions());
    });
  const int64_t R = s[0], Tn = s[1], H = s[2];
  const RopeTable* tp = &table;
  return record(
      g, {s, x.dtype(), x.requires_grad()}, {},
      [&]<class T>(const Var& out) {
        rope_forward<T>(table, pos.data(), x.value.data<T>(), out.value.data<T>(), R, Tn, H);
      },
      [=]<class T>(const Var& out, std::span<const int32_t> pos) {
        rope_backward<T>(*tp, pos.data(), out.grad().data<T>(), x.grad().data<T>(), R, Tn, H);
      },
      pos);
}

template void rope_forward<float>(const RopeTable&, const int32_t*, const float*, float*, int64_t, int64_t, int64_t);
template void rope_forward<double>(const RopeTable&, const int32_t*, const double*, double*, int64_t, int64_t,
                                   int64_t);
template void rope_backward<float>(const RopeTable&, const int32_t*, const float*, float*, int64_t, int64_t, int64_t);
template void rope_backward<double>(const RopeTable&, const int32_t*, const double*, double*, int64_t, int64_t,
                                    int64_t);

}  // namespace blt::ops
