// Graph: the autograd tape of one step. Ops called with a recording Graph
// compute their forward at once and record a backward closure (through
// ops::record, ops/record.h); backward() replays the closures in reverse. Values, gradients, saved buffers and the
// closures themselves live in the Graph's Arena, so after warm-up a step
// allocates nothing. In no-grad mode (inference) nothing is recorded and no
// gradient buffer is allocated.
#pragma once

#include <new>
#include <type_traits>
#include <vector>

#include "core/arena.h"
#include "core/flops.h"
#include "core/trace.h"

namespace blt {

// A value of the graph and its gradient buffer (undefined when no gradient flows).
struct Var {
  TensorView value;
  TensorView grad;

  const Shape& shape() const { return value.shape(); }
  DType dtype() const { return value.dtype(); }
  bool requires_grad() const { return grad.defined(); }
  // Same buffers seen with another shape of equal element count.
  Var reshape(Shape s) const { return Var{value.reshape(s), grad.defined() ? grad.reshape(s) : TensorView{}}; }
  Var slice(int64_t begin, int64_t end) const {
    return Var{value.slice(begin, end), grad.defined() ? grad.slice(begin, end) : TensorView{}};
  }
};

class Graph {
 public:
  explicit Graph(size_t arena_bytes = size_t{1} << 20) : arena_(arena_bytes) {}

  // Starts a new step: rewinds the arena and clears the tape (capacity kept).
  void reset() {
    tape_.clear();
    arena_.reset();
  }

  bool recording() const { return recording_; }
  void set_recording(bool on) { recording_ = on; }
  Arena& arena() { return arena_; }
  FlopCounter& flops() { return flops_; }

  // A leaf without gradient (inputs).
  static Var constant(TensorView value) { return Var{value, {}}; }
  // An op output: value uninitialised, gradient zeroed if recording and `needs_grad`.
  Var output(Shape shape, DType dtype, bool needs_grad) {
    Var v{arena_.empty(shape, dtype), {}};
    if (recording_ && needs_grad) v.grad = arena_.zeros(shape, dtype);
    return v;
  }
  // A buffer for an op's saved state (or temporaries), uninitialised.
  TensorView scratch(Shape shape, DType dtype) { return arena_.empty(shape, dtype); }

  // Records a backward closure. Its captures must be trivially destructible
  // (views, numbers, pointers): it is placed in the arena and never destroyed.
  // Pointers into host data must point into the arena too (ops::keep copies spans there).
  template <class F>
  void on_backward(F&& fn) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_trivially_destructible_v<Fn>, "backward closures capture views and numbers only");
    void* mem = arena_.alloc(sizeof(Fn));
    new (mem) Fn(std::forward<F>(fn));
    tape_.push_back(Entry{mem, [](void* p) { (*static_cast<Fn*>(p))(); }, flops_.current()});
  }

  // FLOPs of the op being run now, into the current component.
  void count_forward(double f) { flops_.add_forward(flops_.current(), f); }
  // FLOPs of a backward closure, into the component it was recorded under.
  void count_backward(double f) { flops_.add_backward(running_component_, f); }

  // Named activations (see core/trace.h): recorded only when a tracer is attached.
  void set_tracer(Tracer* t) { tracer_ = t; }
  void trace(std::string_view name, const TensorView& v) {
    if (tracer_) tracer_->record(name, v);
  }

  // loss: a scalar Var with a gradient; seeds dloss = 1 and replays the tape in reverse.
  void backward(const Var& loss);
  // Replays the tape in reverse with output gradients the caller has already seeded.
  void backward();

  size_t tape_size() const { return tape_.size(); }

 private:
  struct Entry {
    void* closure;
    void (*call)(void*);
    int component;
  };
  Arena arena_;
  FlopCounter flops_;
  std::vector<Entry> tape_;
  bool recording_ = true;
  int running_component_ = 0;
  Tracer* tracer_ = nullptr;
};

}  // namespace blt
