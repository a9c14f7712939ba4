// LayerCarry: ping-pong buffers and an arena mark (see layer_carry.h).
#include "core/layer_carry.h"

namespace blt {

LayerCarry::LayerCarry(Graph& g, std::initializer_list<Shape> shapes, DType dtype)
    : g_(&g), active_(!g.recording()), n_(shapes.size()) {
  BLT_ASSERT(n_ <= kMaxValues, "[layer_carry] " + std::to_string(n_) + " values");
  if (!active_) return;
  size_t i = 0;
  for (const Shape& s : shapes) buf_[i++] = {g.arena().empty(s, dtype), g.arena().empty(s, dtype)};
  mark_ = g.arena().mark();
}

void LayerCarry::keep(std::initializer_list<Var*> values) {
  if (!active_) return;
  BLT_ASSERT(values.size() == n_, "[layer_carry] " + std::to_string(values.size()) + " values for " +
                                      std::to_string(n_) + " buffers");
  size_t i = 0;
  for (Var* v : values) {
    const TensorView& dst = buf_[i++][next_];
    if (!v->value.defined()) continue;
    BLT_ASSERT(v->shape() == dst.shape() && v->dtype() == dst.dtype(),
               "[layer_carry] value " + v->shape().str() + " for a buffer " + dst.shape().str());
    dst.copy_from(v->value);
    *v = Graph::constant(dst);
  }
  next_ ^= 1;
  g_->arena().rewind(mark_);
}

}  // namespace blt
