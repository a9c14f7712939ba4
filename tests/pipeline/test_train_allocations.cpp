// Allocations of warm BLT training and evaluation steps (hook of
// support/count_allocations.h, every thread counted): after warm-up on
// same-shaped batches, whole trainer steps of an entropy-patched BLT
// (stream, patching, forward, backward, clipping, AdamW, finiteness checks)
// and evaluation windows (patching with the entropy model, forward, NLL)
// allocate nothing. With one thread nothing is allocated but OpenBLAS's own
// per-call scratch (its small-matrix sgemm on AVX-512 mallocs a copy of a
// few rows of A; third-party C code outside this count); with two, operator
// new is never called (OpenBLAS's threaded sgemm also mallocs its work
// buffers per call). On failure each distinct allocation site is printed
// with its count.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "blas/gemm.h"
#include "eval/evaluate.h"
#include "io/temp_dir.h"
#include "pipeline/blt_task.h"
#include "pipeline/entropy_cache.h"
#include "support/count_allocations.h"
#include "support/tiny_models.h"
#include "train/trainer.h"

namespace blt::test {
namespace {

// Same-shaped batches: every row one document whose wrapped form [BOS] + bytes + [EOS] is exactly one
// row (32 tokens); 64 documents, so no epoch (a new document order) ends while counting.
data::Corpus corpus() {
  data::Corpus c;
  for (int i = 0; i < 64; ++i) c.add("the cat sat on the mat, it ran");
  return c;
}

// The median entropy: a threshold that opens patches at about half the positions.
double median(std::vector<float> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// An entropy-patched tiny BLT whose threshold is the median entropy over corpus().
modeldir::BltModel entropy_blt() {
  model::BltArgs a = tiny_blt_args();
  a.patching_mode = "entropy";
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Entropy;
  modeldir::BltModel m = modeldir::BltModel::create(a, pa, DType::F32, true);
  Rng rng(3);
  m.params->initialize(rng);
  m.entropy = modeldir::EntropyModel::create(tiny_lm_args(64, 12), {});
  m.entropy->params->initialize(rng);
  m.patcher.threshold = median(pipeline::training_entropies(corpus(), *m.entropy, "").values);
  return m;
}

struct Counts {
  int64_t all = 0, by_new = 0, by_openblas = 0;
  int64_t patches = 0;  // patches of the counted steps or windows
};

// Runs `f` with `threads` OpenMP threads (restored afterwards).
template <class F>
Counts with_threads(int threads, F&& f) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  const Counts c = f();
  omp_set_num_threads(before);
  return c;
}

// Allocations from the end of step `from` to the end of step `to` of an entropy-patched training run.
Counts count_training(int64_t from, int64_t to) {
  const data::Corpus c = corpus();
  modeldir::BltModel m = entropy_blt();
  const pipeline::EntropyCache h = pipeline::training_entropies(c, *m.entropy, "");
  pipeline::BltTask task(m, nullptr, 0);
  data::SequenceStream stream(c, 32, 7);
  stream.attach_side(h.values);
  train::TrainerConfig cfg;
  cfg.steps = to + 1;
  cfg.batch = 2;
  cfg.seq_len = 32;
  cfg.warmup = 1;
  cfg.log_every = 1000;  // metrics lines, validation and checkpoints only at the very end
  cfg.eval_every = cfg.save_every = 0;
  TempDir out;
  train::Trainer t(cfg, task, stream, out.path().string());
  prepare_allocation_backtraces();
  std::unique_ptr<CountAllocations> counting;
  Counts n;
  std::atomic<bool> stop{false};
  t.run(stop, [&](const train::StepReport& r) {
    if (r.step == from) {
      (void)task.step_stats();  // start the patch count here
      counting = std::make_unique<CountAllocations>();
    }
    if (r.step == to) {
      n.all = counting->count();
      n.by_new = counting->count_new();
      n.by_openblas = counting->count_by_openblas();
      counting.reset();
      n.patches = task.step_stats().at("patches").get<int64_t>();
    }
  });
  return n;
}

TEST(TrainAllocations, WarmBltTrainingStepsAllocateNothing) {
  if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "sanitizer build: the allocator is not replaced";
  for (int threads : {1, 2}) {
    const Counts n = with_threads(threads, [] { return count_training(3, 8); });
    const int64_t counted = threads == 1 ? n.all - n.by_openblas : n.by_new;
    if (counted > 0) print_allocation_sites(n.all);
    EXPECT_EQ(counted, 0) << "allocations in 5 warm BLT training steps with " << threads << " threads (sites above)";
    EXPECT_GT(n.patches, 5 * 2 * 4) << "entropy patching must cut the rows into several patches";
  }
}

// Allocations in evaluation windows 4..7 of corpus() (each window one document).
Counts count_evaluation() {
  const data::Corpus c = corpus();
  const modeldir::BltModel m = entropy_blt();
  patching::RowPatcher patcher(m.patcher, m.entropy_lm(), m.args.eos_id);
  data::EvalWindows windows(c, m.args.max_encoder_seq_length);
  prepare_allocation_backtraces();
  std::unique_ptr<CountAllocations> counting;
  Counts n;
  int64_t window = 0;
  const auto r = eval::evaluate(m, patcher, windows, 0, [&](int64_t, int64_t) {
    if (++window == 3) counting = std::make_unique<CountAllocations>();
    if (window == 7) {
      n.all = counting->count();
      n.by_new = counting->count_new();
      counting.reset();
    }
  });
  n.patches = r.n_patches;
  return n;
}

TEST(TrainAllocations, WarmEvaluationWindowsAllocateNothing) {
  if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "sanitizer build: the allocator is not replaced";
  for (int threads : {1, 2}) {
    const Counts n = with_threads(threads, count_evaluation);
    const int64_t counted = threads == 1 ? n.all : n.by_new;
    if (counted > 0) print_allocation_sites(n.all);
    EXPECT_EQ(counted, 0) << "allocations in 4 warm evaluation windows with " << threads << " threads (sites above)";
    EXPECT_GT(n.patches, 64 * 4) << "entropy patching must cut the windows into several patches";
  }
}

// The counters see what they count: operator new in both, a C malloc in count() only.
TEST(TrainAllocations, CountersSeeTheirAllocations) {
  if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "sanitizer build: the allocator is not replaced";
  CountAllocations count;
  auto v = std::make_unique<std::vector<int>>(100);
  void* raw = std::malloc(64);
  asm volatile("" : : "r"(v->data()), "r"(raw) : "memory");  // keep both allocations
  const int64_t all = count.count(), by_new = count.count_new(), by_openblas = count.count_by_openblas();
  std::free(raw);
  EXPECT_EQ(by_new, 2);
  EXPECT_EQ(all, 3);
  EXPECT_EQ(by_openblas, 0) << "allocations of this test's own code taken for OpenBLAS's";
}

// An sgemm whose small-matrix kernel mallocs (AVX-512 OpenBLAS: C = A·B + C with 8 columns, depth 32) is
// counted as OpenBLAS's; where that kernel does not run, OpenBLAS allocates nothing here at all.
TEST(TrainAllocations, OpenBlasScratchIsAttributedToOpenBlas) {
  if (!BLT_COUNT_ALLOCATIONS) GTEST_SKIP() << "sanitizer build: the allocator is not replaced";
  prepare_allocation_backtraces();
  std::vector<float> a(4 * 32, 1.f), b(32 * 8, 1.f), c(4 * 8, 0.f);
  const auto sgemm = [&] {
    blas::gemm<float>(false, false, 4, 8, 32, 1.f, a.data(), 32, b.data(), 8, 1.f, c.data(), 8);
  };
  const Counts n = with_threads(1, [&] {
    sgemm();  // warm
    CountAllocations count;
    sgemm();
    return Counts{.all = count.count(), .by_openblas = count.count_by_openblas()};
  });
  EXPECT_EQ(n.by_openblas, n.all);
  EXPECT_EQ(c[0], 64.f);
}

}  // namespace
}  // namespace blt::test
