// Heap allocations of warm blas::gemm_bf16 calls (hook of support/count_allocations.h, every
// thread counted, the C allocator included): once a shape has been called, calling it again
// allocates nothing on the few-row kernel (M <= kGemvMaxRows, trans_b), and on oneDNN's matmul
// no more than a bare dnnl_primitive_execute of a ready primitive with ready memory objects and
// a user scratchpad allocates itself (oneDNN 2.x builds an argument map per execute): the cached
// primitive, its memory objects and the scratchpad are reused. On failure each distinct
// allocation site is printed with its count. Skipped visibly without bf16 matmuls.
#include <gtest/gtest.h>

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "blas/gemm_bf16.h"
#include "blas/gemv_bf16.h"
#include "support/count_allocations.h"

namespace blt::test {
namespace {

// The fewest of kWarmCalls counts: libgomp allocates a new team now and then when the last one's
// threads are still leaving it (a loaded machine, e.g. ctest --parallel), while an allocation made by
// the call itself shows in every count.
constexpr int kWarmCalls = 5;

// The fewest allocations over kWarmCalls runs of call().
template <class F>
int64_t fewest_allocations(const F& call) {
  int64_t n = 0;
  for (int i = 0; i < kWarmCalls; ++i) {
    CountAllocations count;
    call();
    n = i == 0 ? count.count() : std::min(n, count.count());
    if (n == 0) break;
  }
  return n;
}

// Allocations of a call C (M,N) = A (M,K)·op(B) + beta·C made once before (the fewest of kWarmCalls).
int64_t warm_allocations(bool tb, int64_t M, int64_t N, int64_t K, float beta) {
  std::vector<bf16> a(static_cast<size_t>(M * K), to_bf16(0.5f)),
      b(static_cast<size_t>(N * K), to_bf16(0.25f));
  std::vector<float> c(static_cast<size_t>(M * N), 1.f);
  auto call = [&] {
    blas::gemm_bf16(false, tb, M, N, K, 1.f, a.data(), K, b.data(), tb ? K : N, beta, c.data(), N);
  };
  call();
  prepare_allocation_backtraces();
  const int64_t n = fewest_allocations(call);
  if (n > 0) print_allocation_sites(n);
  return n;
}

#define BLT_REQUIRE_COUNTED_BF16()                                                                \
  do {                                                                                            \
    if (!blas::has_bf16_matmul())                                                                 \
      GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";                 \
    if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off in sanitizer builds"; \
  } while (0)

TEST(GemmBf16Allocations, WarmFewRowCallsAllocateNothing) {
  BLT_REQUIRE_COUNTED_BF16();
  for (int64_t M = 1; M <= blas::kGemvMaxRows; ++M)
    for (float beta : {0.f, 1.f})
      EXPECT_EQ(warm_allocations(true, M, 300, 257, beta), 0) << "M=" << M << " beta=" << beta;
}

// What oneDNN's own execute allocates: C (M,N) f32 = A (M,K)·B (K,N) bf16 (+ C when sum), everything made
// beforehand.
int64_t bare_execute_allocations(int64_t M, int64_t N, int64_t K, bool sum) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dnnl::memory::desc a({M, K}, dt::bf16, tag::ab), b({K, N}, dt::bf16, tag::ab),
      c({M, N}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  if (sum) ops.append_sum(1.f);
  attr.set_post_ops(ops);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine);
  const dnnl::matmul matmul(pd);
  const dnnl::memory ma(a, engine), mb(b, engine), mc(c, engine), ms(pd.scratchpad_desc(), engine);
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, ma.get()},
                                  {DNNL_ARG_WEIGHTS, mb.get()},
                                  {DNNL_ARG_DST, mc.get()},
                                  {DNNL_ARG_SCRATCHPAD, ms.get()}};
  auto run = [&] {
    EXPECT_EQ(dnnl_primitive_execute(matmul.get(), stream.get(), 4, args), dnnl_success);
    stream.wait();
  };
  run();
  return fewest_allocations(run);
}

TEST(GemmBf16Allocations, WarmOneDnnCallsAllocateOnlyWhatItsExecuteDoes) {
  BLT_REQUIRE_COUNTED_BF16();
  for (int64_t M : {blas::kGemvMaxRows + 1, int64_t{64}})
    for (float beta : {0.f, 1.f}) {
      const int64_t floor = bare_execute_allocations(M, 300, 257, beta != 0.f);
      EXPECT_EQ(warm_allocations(false, M, 300, 257, beta), floor) << "M=" << M << " beta=" << beta;
      EXPECT_EQ(warm_allocations(true, M, 300, 257, beta), floor) << "M=" << M << " trans_b beta=" << beta;
    }
}

}  // namespace
}  // namespace blt::test
