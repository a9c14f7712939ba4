// SwiGLU forward/backward. silu(a) = a σ(a); silu'(a) = σ(a) (1 + a (1 − σ(a))).
#include "ops/swiglu.h"

#include <type_traits>

#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"
#include "ops/vec_math.h"

namespace blt::ops {

namespace {
constexpr double kParallelWork = 65536;  // below this many elements a call runs on one thread

// silu(a) · b
template <class T>
T silu_times(T a, T b) {
  return a / (T(1) + exp_fast(-a)) * b;
}
}  // namespace

// With h_bf16 the output is written there only (core/bf16.h's rounding, which vectorises).
template <class T>
void swiglu_forward(const T* a, const T* b, T* h, int64_t N, bf16* h_bf16) {
  parallel_blocks(N, worth_forking(N, kParallelWork), [&](int64_t i0, int64_t i1) {
    if constexpr (std::is_same_v<T, float>) {
      if (h_bf16) {
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) h_bf16[i] = to_bf16(silu_times(a[i], b[i]));
        return;
      }
    }
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) h[i] = silu_times(a[i], b[i]);
  });
}

namespace {

// [i0, i1) of swiglu_backward with the null tests of da and db hoisted out of the loop (as
// compile-time modes), so that it vectorises like the forward; the arithmetic per element is unchanged.
enum class Grad { None, Add, Write };

template <Grad kDa, Grad kDb, class T>
void swiglu_backward_block(const T* a, const T* b, const T* dh, T* da, T* db, int64_t i0, int64_t i1) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const T s = T(1) / (T(1) + exp_fast(-a[i]));
    const T ga = dh[i] * b[i] * s * (T(1) + a[i] * (T(1) - s)), gb = dh[i] * a[i] * s;
    if constexpr (kDa == Grad::Add) da[i] += ga;
    if constexpr (kDa == Grad::Write) da[i] = ga;
    if constexpr (kDb == Grad::Add) db[i] += gb;  // after da: swiglu(x, x) adds to what da wrote
    if constexpr (kDb == Grad::Write) db[i] = gb;
  }
}

// f.template operator()<mode>() for a gradient pointer's mode, a compile-time value.
template <class F>
void with_mode(const void* grad, bool overwrite, F&& f) {
  if (!grad)
    f.template operator()<Grad::None>();
  else if (overwrite)
    f.template operator()<Grad::Write>();
  else
    f.template operator()<Grad::Add>();
}

}  // namespace

template <class T>
void swiglu_backward(const T* a, const T* b, const T* dh, T* da, T* db, int64_t N, bool overwrite_da,
                     bool overwrite_db) {
  if (!da && !db) return;
  parallel_blocks(N, worth_forking(N, kParallelWork), [&](int64_t i0, int64_t i1) {
    with_mode(da, overwrite_da, [&]<Grad A>() {
      with_mode(db, overwrite_db, [&]<Grad B>() { swiglu_backward_block<A, B>(a, b, dh, da, db, i0, i1); });
    });
  });
}

Var swiglu(Graph& g, const Var& a, const Var& b, const TensorView& h_bf16) {
  check(a.shape() == b.shape(), "swiglu", [&] { return describe("a", a.shape()) + " vs " + describe("b", b.shape()); });
  check_dtypes("swiglu", a, b);
  check_bf16_copy("swiglu", "a", a.shape(), "h_bf16", h_bf16);
  check(!h_bf16.defined() || a.dtype() == DType::F32, "swiglu", "h_bf16 rounds a float32 output only");
  const int64_t N = a.shape().numel();
  return record(
      g, {a.shape(), a.dtype(), any_requires_grad(a, b)}, {},
      [&]<class T>(const Var& h) {
        swiglu_forward<T>(a.value.data<T>(), b.value.data<T>(), h.value.data<T>(), N,
                          h_bf16.defined() ? h_bf16.data<bf16>() : nullptr);
      },
      [=]<class T>(const Var& h) {
        bool first_a = false, first_b = false;  // gradients nothing has written yet are written, not added to
        T* da = grad_to_write_or_null<T>(a, first_a);
        T* db = grad_to_write_or_null<T>(b, first_b);  // swiglu(x, x): created by a's call, so added to
        swiglu_backward<T>(a.value.data<T>(), b.value.data<T>(), h.grad().data<T>(), da, db, N, first_a,
                           first_b);
      });
}

template void swiglu_forward<float>(const float*, const float*, float*, int64_t, bf16*);
template void swiglu_forward<double>(const double*, const double*, double*, int64_t, bf16*);
template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, int64_t, bool,
                                     bool);
template void swiglu_backward<double>(const double*, const double*, const double*, double*, double*, int64_t,
                                      bool, bool);

}  // namespace blt::ops
