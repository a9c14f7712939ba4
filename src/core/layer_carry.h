// LayerCarry: a stack of layers run without recording (eval, entropies,
// recomputing generation) keeps only the state carried from layer to layer, not
// every layer's activations. Before the loop it allocates two buffers per carried
// value and marks the arena; after each layer keep() copies the values into the
// buffers not holding the layer's input (ping-pong) and rewinds the arena to the
// mark. Recording (training), it does nothing: the tape needs every activation.
#pragma once

#include <array>
#include <initializer_list>

#include "core/graph.h"

namespace blt {

class LayerCarry {
 public:
  static constexpr size_t kMaxValues = 2;

  // shapes: the carried values (at most kMaxValues, each of `dtype`), in the order keep() takes them.
  LayerCarry(Graph& g, std::initializer_list<Shape> shapes, DType dtype);

  // After a layer, once its trace hooks have run: each defined *values[i] (shape shapes[i]) becomes a view of
  // a buffer of this carry and everything allocated since the constructor is freed. Recording: nothing
  // changes.
  void keep(std::initializer_list<Var*> values);
  // h: the one carried value; returns it (moved into a buffer when not recording).
  Var keep(const Var& h) {
    Var v = h;
    keep({&v});
    return v;
  }

 private:
  Graph* g_;
  bool active_;  // not recording
  size_t n_ = 0;
  std::array<std::array<TensorView, 2>, kMaxValues> buf_;
  size_t next_ = 0;  // which of each pair the next keep() writes
  Arena::Mark mark_;
};

}  // namespace blt
