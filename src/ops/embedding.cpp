// Embedding-sum forward (gather + add) and backward (column-split scatter-add).
#include "ops/embedding.h"

#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"

namespace blt::ops {

namespace {
constexpr double kParallelWork = 32768;  // below this many (row, table, column) adds a call runs on one thread

// A table value as T: bf16 widens exactly, T itself is kept.
template <class T, class W>
T widen(W v) {
  if constexpr (std::is_same_v<W, bf16>)
    return to_float(v);
  else
    return v;
}
}  // namespace

template <class T, class W>
void embedding_sum_forward(std::span<const W* const> tables, const int32_t* ids, T* out, int64_t N, int64_t D) {
  const int64_t n_tables = static_cast<int64_t>(tables.size());
  parallel_for(N, worth_forking(static_cast<double>(N) * D * n_tables, kParallelWork), [&](int64_t i) {
    T* o = out + i * D;
    const W* first = tables[0] + static_cast<int64_t>(ids[i]) * D;
    for (int64_t d = 0; d < D; ++d) o[d] = widen<T>(first[d]);
    for (int64_t t = 1; t < n_tables; ++t) {
      const W* row = tables[t] + static_cast<int64_t>(ids[t * N + i]) * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) o[d] += widen<T>(row[d]);
    }
  });
}

namespace {
// out (N,D) = Σ_t tables[t][ids[t,i]] with the tables' pointers (of W) in the arena: no heap allocation.
template <class T, class W>
void gather_sum(Graph& g, std::span<const Var> tables, std::span<const int32_t> ids, T* out, int64_t N, int64_t D) {
  const W** values = arena_array<const W*>(g, tables.size());
  for (size_t t = 0; t < tables.size(); ++t) values[t] = tables[t].value.data<W>();
  embedding_sum_forward<T, W>({values, tables.size()}, ids.data(), out, N, D);
}
}  // namespace

template <class T>
void embedding_sum_backward(std::span<T* const> dtables, const int32_t* ids, const T* dout, int64_t N, int64_t D) {
  const int64_t n_tables = static_cast<int64_t>(dtables.size());
  // Each thread owns a column block of every table: no two threads touch one element,
  // and rows are added in index order whatever the thread count.
  parallel_blocks(D, worth_forking(static_cast<double>(N) * D * n_tables, kParallelWork), [&](int64_t c0, int64_t c1) {
    for (int64_t t = 0; t < n_tables; ++t) {
      T* dtab = dtables[t];
      if (!dtab) continue;
      const int32_t* tid_ids = ids + t * N;
      for (int64_t i = 0; i < N; ++i) {
        T* drow = dtab + static_cast<int64_t>(tid_ids[i]) * D;
        const T* g = dout + i * D;
#pragma omp simd
        for (int64_t d = c0; d < c1; ++d) drow[d] += g[d];
      }
    }
  });
}

Var embedding_sum(Graph& g, std::span<const Var> tables, std::span<const int32_t> ids, Shape ids_shape) {
  const int64_t n_tables = static_cast<int64_t>(tables.size());
  check(n_tables > 0, "embedding", "no tables");
  const int64_t N = ids_shape.numel(), D = tables[0].shape().last();
  check(ids_shape.rank() < Shape::kMaxRank, "embedding",
        [&] { return describe("ids", ids_shape) + " has no room for D"; });
  check(static_cast<int64_t>(ids.size()) == n_tables * N, "embedding", [&] {
    return std::to_string(ids.size()) + " ids for " + std::to_string(n_tables) + " tables x " +
           describe("ids", ids_shape);
  });
  bool needs_grad = false;
  const bool stored = tables[0].dtype() == DType::BF16;  // weights used as stored: the output is float32
  for (int64_t t = 0; t < n_tables; ++t) {
    const Var& tab = tables[t];
    check(!stored || !tab.requires_grad(), "embedding", [&] {
      return describe(("table " + std::to_string(t)).c_str(), tab.shape()) +
             " is bf16 (weights used as stored): inference only, it takes no gradient";
    });
    check(tab.shape().rank() == 2 && tab.shape()[1] == D, "embedding", [&] {
      return describe("table 0", tables[0].shape()) + " vs " +
             describe(("table " + std::to_string(t)).c_str(), tab.shape());
    });
    check_dtypes("embedding", tables[0], tab);
    const int64_t V = tab.shape()[0];
    for (int64_t i = 0; i < N; ++i) {
      int32_t id = ids[t * N + i];
      if (id < 0 || id >= V)
        shape_fail("embedding", "id " + std::to_string(id) + " at position " + std::to_string(i) + " outside table " +
                                    std::to_string(t) + " " + tab.shape().str());
    }
    needs_grad = needs_grad || tab.requires_grad();
  }
  Graph* gp = &g;
  return record(
      g, {ids_shape.appended(D), stored ? DType::F32 : tables[0].dtype(), needs_grad}, {},
      [&]<class T>(const Var& out) {
        if constexpr (std::is_same_v<T, float>)
          if (stored) return gather_sum<float, bf16>(g, tables, ids, out.value.data<float>(), N, D);
        gather_sum<T, T>(g, tables, ids, out.value.data<T>(), N, D);
      },
      [=]<class T>(const Var& out, std::span<const int32_t> ids, std::span<const Var> tables) {
        T** grads = arena_array<T*>(*gp, tables.size());
        for (size_t t = 0; t < tables.size(); ++t) grads[t] = grad_or_null<T>(tables[t]);
        embedding_sum_backward<T>({grads, tables.size()}, ids.data(), out.grad().data<T>(), N, D);
      },
      ids, tables);
}

template void embedding_sum_forward<float>(std::span<const float* const>, const int32_t*, float*, int64_t, int64_t);
template void embedding_sum_forward<double>(std::span<const double* const>, const int32_t*, double*, int64_t,
                                            int64_t);
template void embedding_sum_forward<float, bf16>(std::span<const bf16* const>, const int32_t*, float*, int64_t,
                                                 int64_t);
template void embedding_sum_backward<float>(std::span<float* const>, const int32_t*, const float*, int64_t, int64_t);
template void embedding_sum_backward<double>(std::span<double* const>, const int32_t*, const double*, int64_t,
                                             int64_t);

}  // namespace blt::ops
