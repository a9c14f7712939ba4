// Embedding-sum forward (gather + add) and backward (column-split scatter-add).
#include "ops/embedding.h"

#include <omp.h>

#include "ops/check.h"

namespace blt::ops {

template <class T>
void embedding_sum_forward(std::span<const T* const> tables, const int32_t* ids, T* out, int64_t N, int64_t D) {
  const int64_t n_tables = static_cast<int64_t>(tables.size());
#pragma omp parallel for schedule(static) if (N * D * n_tables > 32768)
  for (int64_t i = 0; i < N; ++i) {
    T* o = out + i * D;
    const T* first = tables[0] + static_cast<int64_t>(ids[i]) * D;
    for (int64_t d = 0; d < D; ++d) o[d] = first[d];
    for (int64_t t = 1; t < n_tables; ++t) {
      const T* row = tables[t] + static_cast<int64_t>(ids[t * N + i]) * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) o[d] += row[d];
    }
  }
}

template <class T>
void embedding_sum_backward(std::span<T* const> dtables, const int32_t* ids, const T* dout, int64_t N, int64_t D) {
  const int64_t n_tables = static_cast<int64_t>(dtables.size());
#pragma omp parallel if (N * D * n_tables > 32768)
  {
    // Each thread owns a column block of every table: no two threads touch one element,
    // and rows are added in index order whatever the thread count.
    const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t c0 = D * tid / nt, c1 = D * (tid + 1) / nt;
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
  }
}

Var embedding_sum(Graph& g, std::span<const Var> tables, std::span<const int32_t> ids, Shape ids_shape) {
  const int64_t n_tables = static_cast<int64_t>(tables.size());
  check(n_tables > 0, "embedding", "no tables");
  const int64_t N = ids_shape.numel(), D = tables[0].shape().last();
  check(ids_shape.rank() < Shape::kMaxRank, "embedding", describe("ids", ids_shape) + " has no room for D");
  check(static_cast<int64_t>(ids.size()) == n_tables * N, "embedding",
        std::to_string(ids.size()) + " ids for " + std::to_string(n_tables) + " tables x " + describe("ids", ids_shape));
  bool needs_grad = false;
  for (int64_t t = 0; t < n_tables; ++t) {
    const Var& tab = tables[t];
    check(tab.shape().rank() == 2 && tab.shape()[1] == D, "embedding",
          describe("table 0", tables[0].shape()) + " vs " + describe(("table " + std::to_string(t)).c_str(), tab.shape()));
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
  Var out = g.output(ids_shape.appended(D), tables[0].dtype(), needs_grad);
  const int32_t* id_ptr = ids.data();
  // Table pointers live in the arena: no heap allocation, and the closure stays trivially destructible.
  void** values = static_cast<void**>(g.arena().alloc(sizeof(void*) * n_tables));
  void** grads = static_cast<void**>(g.arena().alloc(sizeof(void*) * n_tables));
  for (int64_t t = 0; t < n_tables; ++t) {
    values[t] = tables[t].value.raw();
    grads[t] = tables[t].requires_grad() ? tables[t].grad.raw() : nullptr;
  }
  dispatch(out.dtype(), [&]<class T>() {
    embedding_sum_forward<T>({reinterpret_cast<const T* const*>(values), static_cast<size_t>(n_tables)}, id_ptr,
                             out.value.data<T>(), N, D);
  });
  if (out.requires_grad()) {
    g.on_backward([grads, n_tables, id_ptr, out, N, D] {
      dispatch(out.dtype(), [&]<class T>() {
        embedding_sum_backward<T>({reinterpret_cast<T* const*>(grads), static_cast<size_t>(n_tables)}, id_ptr,
                                  out.grad.data<T>(), N, D);
      });
    });
  }
  return out;
}

template void embedding_sum_forward<float>(std::span<const float* const>, const int32_t*, float*, int64_t, int64_t);
template void embedding_sum_forward<double>(std::span<const double* const>, const int32_t*, double*, int64_t,
                                            int64_t);
template void embedding_sum_backward<float>(std::span<float* const>, const int32_t*, const float*, int64_t, int64_t);
template void embedding_sum_backward<double>(std::span<double* const>, const int32_t*, const double*, int64_t,
                                             int64_t);

}  // namespace blt::ops
