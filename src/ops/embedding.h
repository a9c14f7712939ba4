// Embedding lookup, and the sum of several tables indexed by precomputed ids
// (byte embedding + hash n-gram embeddings). Backward is a scatter-add into
// the tables, split over columns so threads never write the same element and
// the result does not depend on the thread count. Forward also reads bf16
// tables (weights used as stored), widening each row into float32.
#pragma once

#include <span>

#include "core/graph.h"

namespace blt::ops {

// tables[t] (V_t,D); ids (n_tables,N), row t indexes table t -> out (N,D) = Σ_t tables[t][ids[t,i]].
// Tables of W = T, or bf16 with T float (weights used as stored), each value widened exactly, the sum in
// the same order: bit-identical to float tables holding the same (bf16-rounded) values.
template <class T, class W = T>
void embedding_sum_forward(std::span<const W* const> tables, const int32_t* ids, T* out, int64_t N, int64_t D);

// dtables[t] (V_t,D) accumulated; null entries are skipped.
template <class T>
void embedding_sum_backward(std::span<T* const> dtables, const int32_t* ids, const T* dout, int64_t N, int64_t D);

// tables[t] (V_t,D); ids holds n_tables·N ids (table-major), N = ids_shape.numel() -> ids_shape + (D).
// Ids out of a table's range throw. `ids` and `tables` are copied for backward. bf16 tables (weights used
// as stored, for inference: no gradient, else ShapeError) give a float32 output.
Var embedding_sum(Graph& g, std::span<const Var> tables, std::span<const int32_t> ids, Shape ids_shape);

// table (V,D), ids (ids_shape) -> ids_shape + (D)
inline Var embedding(Graph& g, const Var& table, std::span<const int32_t> ids, Shape ids_shape) {
  return embedding_sum(g, std::span<const Var>(&table, 1), ids, ids_shape);
}

}  // namespace blt::ops
