// ops::record: what every op wrapper does around its kernels, written once. It
// allocates the output, runs the forward kernel for the output's dtype, counts
// forward FLOPs and, only when a gradient flows, records the backward kernel
// with its FLOPs and arena copies of the host metadata it reads (ids, offsets,
// key ranges), so no closure depends on a caller's buffer. It lives in ops/,
// not in Graph: the Graph stays a dtype-agnostic tape of type-erased closures,
// while float/double dispatch, "grad or null" and the metadata copies are the
// conventions of op wrappers, its only users.
#pragma once

#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "core/graph.h"

namespace blt::ops {

// The output of one op call. needs_grad: some input requires a gradient.
struct OpOutput {
  Shape shape;
  DType dtype;
  bool needs_grad;
};

// FLOPs of one op call: forward into the current component, backward into the one it was recorded under.
struct OpFlops {
  double forward = 0;
  double backward = 0;
};

template <class... V>
bool any_requires_grad(const V&... vs) {
  return (vs.requires_grad() || ...);
}

// v's gradient as T*, or null when no gradient flows into v (kernels skip null outputs).
template <class T>
T* grad_or_null(const Var& v) {
  return v.requires_grad() ? v.grad().data<T>() : nullptr;
}

// The same for a backward that writes its contribution in one pass (Var::grad_to_write): `first` says
// whether it must overwrite (beta 0) rather than add.
template <class T>
T* grad_to_write_or_null(const Var& v, bool& first) {
  first = false;
  return v.requires_grad() ? v.grad_to_write(first).data<T>() : nullptr;
}

// n uninitialised elements in the graph's arena, valid until g.reset().
template <class M>
M* arena_array(Graph& g, size_t n) {
  static_assert(std::is_trivially_copyable_v<M> && std::is_trivially_destructible_v<M>,
                "arena arrays hold plain data");
  return static_cast<M*>(g.arena().alloc(sizeof(M) * n));
}

// A copy of `src` in the graph's arena, valid until g.reset() whatever becomes of `src`.
template <class M>
std::span<const M> keep(Graph& g, std::span<const M> src) {
  M* dst = arena_array<M>(g, src.size());
  std::uninitialized_copy(src.begin(), src.end(), dst);
  return {dst, src.size()};
}

// Runs one op and records its backward:
//   out = g.output(o.shape, o.dtype, o.needs_grad); forward<T>(out) with T = float or double as o.dtype;
//   g.count_forward(flops.forward); and if out requires a gradient, records backward<T>(out, keep(g, meta)...)
//   followed by g.count_backward(flops.backward) and g.release_grad(out): no closure runs after it that
//   could read out's gradient, since every consumer of out was recorded later.
// `forward` runs at once and may capture by reference. `backward` is stored in the arena and runs in
// Graph::backward, so it captures by value views, numbers and pointers only (trivially destructible) and
// reads host metadata through its trailing span parameters. Name those as the wrapper's parameters: they
// then shadow the caller's spans, which the closure can no longer capture by mistake.
template <class Fwd, class Bwd, class... M>
Var record(Graph& g, const OpOutput& o, OpFlops flops, Fwd&& forward, Bwd&& backward, std::span<const M>... meta) {
  static_assert(std::is_trivially_destructible_v<std::decay_t<Bwd>>,
                "backward closures capture views, numbers and pointers; host metadata goes in the trailing spans");
  Var out = g.output(o.shape, o.dtype, o.needs_grad);
  dispatch(o.dtype, [&]<class T>() { forward.template operator()<T>(std::as_const(out)); });
  g.count_forward(flops.forward);
  if (out.requires_grad()) {
    g.on_backward([bwd = std::forward<Bwd>(backward), out, f = flops.backward, gp = &g, ... kept = keep(g, meta)] {
      dispatch(out.dtype(), [&]<class T>() { bwd.template operator()<T>(out, kept...); });
      gp->count_backward(f);
      gp->release_grad(out);
    });
  }
  return out;
}

}  // namespace blt::ops
