// KVCache append.
#include "nn/kv_cache.h"

#include <string>

namespace blt::nn {

void KVCache::append(const TensorView& k_new, const TensorView& v_new) {
  const int64_t T = k_new.shape()[1], row = k.shape()[1] * k.shape()[2];
  if (k_new.numel() != T * row || v_new.numel() != T * row || n + T > capacity())
    throw ShapeError("[kv_cache] " + std::to_string(T) + " new rows of " + k_new.shape().str() + " into a cache of " +
                     std::to_string(n) + "/" + std::to_string(capacity()) + " rows " + k.shape().str());
  const Shape rows{T, k.shape()[1], k.shape()[2]};
  k.view().slice(n, n + T).copy_from(k_new.reshape(rows));
  v.view().slice(n, n + T).copy_from(v_new.reshape(rows));
  n += T;
}

}  // namespace blt::nn
