// Graph::backward: seed the loss gradient and replay the tape in reverse.
#include "core/graph.h"

namespace blt {

void Graph::backward(const Var& loss) {
  if (loss.shape().numel() != 1) throw ShapeError("[backward] loss must be a scalar, got " + loss.shape().str());
  if (!loss.requires_grad()) throw ShapeError("[backward] loss has no gradient: nothing recorded depends on a parameter");
  dispatch(loss.dtype(), [&]<class T>() { *loss.grad().data<T>() = T(1); });
  backward();
}

void Graph::backward() {
  for (auto it = tape_.rbegin(); it != tape_.rend(); ++it) {
    running_component_ = it->component;
    it->call(it->closure);
  }
  tape_.clear();
}

}  // namespace blt
