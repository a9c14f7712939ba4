// KVCache: the keys and values one attention layer has computed so far, for
// cached incremental decoding (inference only). Preallocated once for the
// maximum context (capacity rows of (Hkv, Dh)), outside any step arena, so a
// decoding step writes into it and allocates nothing. Row i holds the key and
// value of cached position i; `n` rows are filled. Views of the whole buffer
// have the (1, capacity, Hkv, Dh) shape ops::attention takes, with the key
// ranges of the new queries indexing rows.
#pragma once

#include "core/graph.h"
#include "core/tensor.h"

namespace blt::nn {

struct KVCache {
  Tensor k, v;       // (capacity, Hkv, Dh)
  int64_t n = 0;     // rows filled

  KVCache() = default;
  KVCache(int64_t capacity, int64_t n_kv_heads, int64_t head_dim, DType dtype = DType::F32)
      : k(Tensor::zeros(Shape{capacity, n_kv_heads, head_dim}, dtype)),
        v(Tensor::zeros(Shape{capacity, n_kv_heads, head_dim}, dtype)) {}

  int64_t capacity() const { return k.shape()[0]; }
  // k, v (1,T,Hkv,Dh) -> rows [n, n+T); ShapeError when they do not fit.
  void append(const TensorView& k_new, const TensorView& v_new);
  // The whole buffer as attention keys and values: (1, capacity, Hkv, Dh), no gradient.
  Var keys() const { return Graph::constant(k.view().reshape(Shape{1, k.shape()[0], k.shape()[1], k.shape()[2]})); }
  Var values() const { return Graph::constant(v.view().reshape(Shape{1, v.shape()[0], v.shape()[1], v.shape()[2]})); }
};

}  // namespace blt::nn
