// blas::gemm_bf16 on oneDNN's matmul, except the few-row linear forward (A (M,K)·Bᵀ with
// M <= kGemvMaxRows: cached decoding), which blas/gemv_bf16.h reads at the memory bandwidth.
// One CPU engine; one stream per thread. A matmul primitive, its memory objects and its
// scratchpad layout are made once per Key (shape, transposes, leading dimensions, alpha, beta,
// threads) and kept in an LRU of kCacheCapacity entries, since BLT patch counts (hence M) vary
// by batch; a warm call allocates only what oneDNN's own execute does (its argument map).
// Operands are strided views of the caller's memory (transposes and leading dimensions are
// strides: no copies); alpha is oneDNN's output scale, beta != 0 a sum post-op.
// Threads: the Debian oneDNN runs on OpenMP and takes omp_get_max_threads() threads, so
// blas::set_num_threads governs it. oneDNN splits the work when it creates a primitive, so
// the thread count is part of the key. ONEDNN_MAX_CPU_ISA (oneDNN's variable) caps the ISA.
#include "blas/gemm_bf16.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <utility>

#include "blas/cpu_features.h"
#include "blas/gemv_bf16.h"
#include "core/error.h"
#include "core/tensor.h"

namespace blt::blas {

namespace {

constexpr size_t kCacheCapacity = 256;
constexpr const char* kNoEngine = "this CPU has no bf16 matrix engine (AMX-BF16 or AVX512-BF16)";

struct Key {
  int64_t M, N, K, lda, ldb, ldc;
  bool ta, tb;
  uint32_t alpha_bits, beta_bits;  // bit patterns: exact, and ordered even for NaN
  int threads;
  auto operator<=>(const Key&) const = default;
};

std::string describe(const Key& k) {
  return "[gemm_bf16] M=" + std::to_string(k.M) + " N=" + std::to_string(k.N) + " K=" + std::to_string(k.K) +
         " lda=" + std::to_string(k.lda) + " ldb=" + std::to_string(k.ldb) + " ldc=" + std::to_string(k.ldc) +
         " trans_a=" + std::to_string(k.ta) + " trans_b=" + std::to_string(k.tb);
}

bool dnnl_has(dnnl::cpu_isa isa) {
  const auto want = static_cast<unsigned>(isa);  // oneDNN's ISA values nest as bit masks
  return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & want) == want;
}

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The primitive, its three operand layouts op(A) (M,K) bf16, op(B) (K,N) bf16, C (M,N) f32, and
// memory objects for them and the user scratchpad, made once and pointed at each call's buffers
// (set_data_handle): oneDNN's C++ memory objects and argument map allocate when made per call.
// `bound` guards the memory objects: concurrent calls of one shape take turns.
struct Entry {
  dnnl::memory::desc a, b, c;
  dnnl::matmul matmul;
  dnnl::memory ma, mb, mc, scratchpad;
  size_t scratchpad_bytes = 0;
  std::shared_ptr<std::mutex> bound = std::make_shared<std::mutex>();
};

Entry make_entry(const Key& k) {
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  Entry e;
  e.a = dnnl::memory::desc({k.M, k.K}, dt::bf16, k.ta ? dims{1, k.lda} : dims{k.lda, 1});
  e.b = dnnl::memory::desc({k.K, k.N}, dt::bf16, k.tb ? dims{1, k.ldb} : dims{k.ldb, 1});
  e.c = dnnl::memory::desc({k.M, k.N}, dt::f32, dims{k.ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const float alpha = std::bit_cast<float>(k.alpha_bits), beta = std::bit_cast<float>(k.beta_bits);
  if (alpha != 1.f) attr.set_output_scales(0, {alpha});
  if (beta != 0.f) {
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  const dnnl::engine& engine = cpu_engine();
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e.a, e.b, e.c), attr, engine);
  e.matmul = dnnl::matmul(pd);
  e.ma = dnnl::memory(e.a, engine, DNNL_MEMORY_NONE);
  e.mb = dnnl::memory(e.b, engine, DNNL_MEMORY_NONE);
  e.mc = dnnl::memory(e.c, engine, DNNL_MEMORY_NONE);
  e.scratchpad = dnnl::memory(pd.scratchpad_desc(), engine, DNNL_MEMORY_NONE);
  e.scratchpad_bytes = pd.scratchpad_desc().get_size();
  return e;
}

// This thread's scratchpad, at least `bytes` long (grow-only: a warm call allocates nothing).
void* scratchpad(size_t bytes) {
  thread_local std::unique_ptr<Storage> buffer;
  if (!buffer || buffer->bytes() < bytes) buffer = std::make_unique<Storage>(bytes);
  return buffer->data();
}

// C = op(A)·op(B) (alpha, beta as in e's primitive) through the C API's argument array.
void execute(const Entry& e, const bf16* A, const bf16* B, float* C) {
  thread_local dnnl::stream stream(cpu_engine());
  std::lock_guard lock(*e.bound);
  e.ma.set_data_handle(const_cast<bf16*>(A));
  e.mb.set_data_handle(const_cast<bf16*>(B));
  e.mc.set_data_handle(C);
  e.scratchpad.set_data_handle(scratchpad(e.scratchpad_bytes));
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, e.ma.get()},
                                  {DNNL_ARG_WEIGHTS, e.mb.get()},
                                  {DNNL_ARG_DST, e.mc.get()},
                                  {DNNL_ARG_SCRATCHPAD, e.scratchpad.get()}};
  dnnl::error::wrap_c_api(dnnl_primitive_execute(e.matmul.get(), stream.get(), 4, args), "could not execute");
  stream.wait();
}

// Most recently used first; index_ finds a key's list node.
class MatmulCache {
 public:
  Entry get(const Key& k) {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(k); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    lru_.emplace_front(k, make_entry(k));
    index_[k] = lru_.begin();
    if (lru_.size() > kCacheCapacity) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return lru_.front().second;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return lru_.size();
  }

 private:
  std::mutex mu_;
  std::list<std::pair<Key, Entry>> lru_;
  std::map<Key, std::list<std::pair<Key, Entry>>::iterator> index_;
};

MatmulCache& cache() {
  static MatmulCache c;
  return c;
}

void check_dims(const Key& k) {
  const std::pair<const char*, int64_t> dims[] = {{"M", k.M}, {"N", k.N}, {"K", k.K}};
  for (const auto& [what, v] : dims)
    if (v < 0) throw ShapeError(describe(k) + ": " + what + " is negative");
  const std::pair<const char*, std::pair<int64_t, int64_t>> lds[] = {
      {"lda", {k.lda, k.ta ? k.M : k.K}}, {"ldb", {k.ldb, k.tb ? k.K : k.N}}, {"ldc", {k.ldc, k.N}}};
  for (const auto& [what, ld] : lds)
    if (ld.first < std::max<int64_t>(1, ld.second))
      throw ShapeError(describe(k) + ": " + what + " is below the row length " + std::to_string(ld.second));
}

}  // namespace

bool has_bf16_matmul() {
  static const bool has = cpu_has_avx512_bf16() && dnnl_has(dnnl::cpu_isa::avx512_core_bf16);
  return has;
}

std::string bf16_isa() {
  static const bool amx = has_bf16_matmul() && cpu_has_amx_bf16() && dnnl_has(dnnl::cpu_isa::avx512_core_amx);
  return amx ? "amx_bf16" : has_bf16_matmul() ? "avx512_bf16" : "none";
}

size_t gemm_bf16_cache_size() { return cache().size(); }

void gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const bf16* A, int64_t lda,
               const bf16* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const Key key{M, N, K, lda, ldb, ldc, ta, tb, std::bit_cast<uint32_t>(alpha), std::bit_cast<uint32_t>(beta),
                omp_get_max_threads()};
  check_dims(key);
  if (!has_bf16_matmul()) throw Error(describe(key) + ": " + kNoEngine + " (ask blas::has_bf16_matmul() first)");
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta·C, and C is not read when beta is 0 (as in BLAS)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  if (!ta && tb && M <= kGemvMaxRows && has_gemv_bf16())  // decoding's few rows: blas/gemv_bf16.h
    return gemv_bf16(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  try {
    execute(cache().get(key), A, B, C);
  } catch (const dnnl::error& err) {
    throw Error(describe(key) + ": oneDNN: " + err.what());
  }
}

}  // namespace blt::blas
