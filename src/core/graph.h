// Graph: the autograd tape of one step. Ops called with a recording Graph
// compute their forward at once and record a backward closure (through
// ops::record, ops/record.h); backward() replays the closures in reverse. Values, saved buffers and the
// closures themselves live in the Graph's Arena, so after warm-up a step
// allocates nothing. In no-grad mode (inference) nothing is recorded.
// Gradients of op outputs are lazy: output() gives a Var a GradSlot (core/grad_pool.h)
// and no memory. The first grad() call, made by the first consumer's backward that
// accumulates into it (or by the caller seeding the loss), takes a zeroed block from the
// Graph's GradPool; the producer's backward, the last closure to read it (the tape runs
// in reverse, consumers were recorded after their producer), releases it (release_grad).
// So only the gradients of values whose consumers have run but whose producer has not
// are held at once, and pages are reused. Views (reshape, slice) share their base's slot
// at a byte offset. Leaves (parameters, test inputs) keep a fixed gradient buffer.
#pragma once

#include <new>
#include <type_traits>
#include <vector>

#include "core/arena.h"
#include "core/flops.h"
#include "core/grad_pool.h"
#include "core/precision.h"
#include "core/trace.h"

namespace blt {

// A value of the graph and a handle on its gradient (none when no gradient flows).
// Trivially copyable: backward closures capture Vars by value.
class Var {
 public:
  TensorView value;

  Var() = default;
  // A leaf; `grad` is its gradient buffer (value's shape and dtype), or undefined: no gradient.
  explicit Var(TensorView value, TensorView grad = {}) : value(value), fixed_grad_(grad.raw()) {
    BLT_ASSERT(!grad.defined() || (grad.shape() == value.shape() && grad.dtype() == value.dtype()),
               "[var] gradient " + grad.shape().str() + " for value " + value.shape().str());
  }

  const Shape& shape() const { return value.shape(); }
  DType dtype() const { return value.dtype(); }
  bool requires_grad() const { return fixed_grad_ || slot_; }
  // The gradient buffer (value's shape and dtype); an op output's is created zeroed on the first call.
  TensorView grad() const {
    BLT_ASSERT(requires_grad(), "[var] no gradient flows into " + value.shape().str());
    char* base = static_cast<char*>(slot_ ? slot_->data() : fixed_grad_);
    return TensorView(base + offset_, value.shape(), value.dtype());
  }
  // The gradient buffer for a backward that writes its whole contribution in one pass (a GEMM's beta):
  // `first` says whether nothing is in it yet, and then it comes unzeroed and the contribution must overwrite
  // it (beta 0); otherwise it must be added. Only a view of a whole op output's gradient can be first.
  TensorView grad_to_write(bool& first) const {
    first = slot_ && !slot_->created() && offset_ == 0 && slot_->bytes() == value.nbytes();
    if (!first) return grad();
    return TensorView(slot_->data_to_overwrite(), value.shape(), value.dtype());
  }
  // Same buffers seen with another shape of equal element count.
  Var reshape(Shape s) const {
    Var v = *this;
    v.value = value.reshape(s);
    return v;
  }
  Var slice(int64_t begin, int64_t end) const {
    Var v = *this;
    v.value = value.slice(begin, end);
    v.offset_ += static_cast<const char*>(v.value.raw()) - static_cast<const char*>(value.raw());
    return v;
  }

 private:
  friend class Graph;
  Var(TensorView value, GradSlot* slot) : value(value), slot_(slot) {}

  void* fixed_grad_ = nullptr;  // a leaf's gradient
  GradSlot* slot_ = nullptr;    // an op output's lazily created gradient (in the arena)
  ptrdiff_t offset_ = 0;        // bytes from the start of the gradient buffer (views)
};
static_assert(std::is_trivially_copyable_v<Var> && std::is_trivially_destructible_v<Var>);

class Graph {
 public:
  explicit Graph(size_t arena_bytes = size_t{1} << 20) : arena_(arena_bytes) {}

  // Starts a new step: rewinds the arena and clears the tape (capacity kept).
  void reset() {
    tape_.clear();
    arena_.reset();
    grads_.reset();
  }

  bool recording() const { return recording_; }
  void set_recording(bool on) { recording_ = on; }
  // What matmuls and attention compute in (core/precision.h); F32 unless set.
  Precision precision() const { return precision_; }
  void set_precision(Precision p) { precision_ = p; }
  Arena& arena() { return arena_; }
  FlopCounter& flops() { return flops_; }

  // A leaf without gradient (inputs).
  static Var constant(TensorView value) { return Var{value}; }
  // An op output: value uninitialised; if recording and `needs_grad`, a gradient created on first use.
  Var output(Shape shape, DType dtype, bool needs_grad) {
    TensorView value = arena_.empty(shape, dtype);
    if (!recording_ || !needs_grad) return Var{value};
    void* slot = arena_.alloc(sizeof(GradSlot));
    return Var{value, new (slot) GradSlot(&grads_, value.nbytes())};
  }
  // Run by ops::record after the backward of the op that produced `out`: its gradient memory
  // (shared by its views) returns to the pool, and reading it again is an InternalError.
  void release_grad(const Var& out) {
    if (out.slot_) out.slot_->release();
  }
  // The most bytes of op-output gradients held at once in one step (GradPool::bytes_peak).
  size_t grad_bytes_peak() const { return grads_.bytes_peak(); }
  const GradPool& grad_pool() const { return grads_; }
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
  GradPool grads_;
  FlopCounter flops_;
  std::vector<Entry> tape_;
  bool recording_ = true;
  Precision precision_ = Precision::F32;
  int running_component_ = 0;
  Tracer* tracer_ = nullptr;
};

}  // namespace blt
