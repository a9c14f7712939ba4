// The fork-only-when-it-pays loops (ops/parallel.h) and lazy check messages
// (ops/check.h): the serial and the OpenMP paths cover every index exactly
// once, and a passing check never builds its message.
#include <gtest/gtest.h>
#include <omp.h>

#include <string>
#include <vector>

#include "ops/check.h"
#include "ops/parallel.h"

namespace blt::test {
namespace {

// Sets the OpenMP thread count for one scope.
struct ThreadCount {
  explicit ThreadCount(int n) : saved(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved); }
  int saved;
};

TEST(Parallel, WorthForkingNeedsWorkAndThreads) {
  {
    ThreadCount one(1);
    EXPECT_FALSE(ops::worth_forking(1e9, 10));
  }
  ThreadCount two(2);
  EXPECT_TRUE(ops::worth_forking(11, 10));
  EXPECT_FALSE(ops::worth_forking(10, 10));
}

TEST(Parallel, EveryIndexRunsOnceOnEitherPath) {
  ThreadCount two(2);
  for (bool parallel : {false, true})
    for (int64_t n : {0, 1, 7, 1000}) {
      std::vector<int> hits(n, 0), blocks(n, 0), dynamic(n, 0);
      ops::parallel_for(n, parallel, [&](int64_t i) { ++hits[i]; });
      ops::parallel_for<ops::Schedule::Dynamic>(n, parallel, [&](int64_t i) { ++dynamic[i]; });
      ops::parallel_blocks(n, parallel, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) ++blocks[i];
      });
      EXPECT_EQ(hits, std::vector<int>(n, 1)) << "n=" << n << " parallel=" << parallel;
      EXPECT_EQ(dynamic, std::vector<int>(n, 1)) << "n=" << n << " parallel=" << parallel;
      EXPECT_EQ(blocks, std::vector<int>(n, 1)) << "n=" << n << " parallel=" << parallel;
    }
}

TEST(Parallel, SerialPathStaysOnTheCallingThreadOutsideOpenMP) {
  ThreadCount two(2);
  int in_parallel = 0, team = 0;
  ops::parallel_for(100, false, [&](int64_t) { in_parallel += omp_in_parallel(); });
  ops::run_team(1, [&](int tid, int nt) { team += tid + nt; });
  EXPECT_EQ(in_parallel, 0);
  EXPECT_EQ(team, 1);  // (0, 1)
}

TEST(Parallel, RunTeamGivesEachMemberItsId) {
  ThreadCount two(2);
  std::vector<int> seen(2, 0);
  int size = 0;
  ops::run_team(2, [&](int tid, int nt) {
    seen[tid] = 1;
#pragma omp single
    size = nt;
  });
  EXPECT_EQ(size, 2);
  EXPECT_EQ(seen, std::vector<int>(2, 1));
}

TEST(Check, BuildsTheMessageOnlyOnFailure) {
  int built = 0;
  auto what = [&] {
    ++built;
    return ops::describe("x", Shape{2, 3}) + " vs w";
  };
  ops::check(true, "op", what);
  EXPECT_EQ(built, 0);
  try {
    ops::check(false, "op", what);
    FAIL() << "no throw";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()), "[op] x (2,3) vs w");
  }
  EXPECT_EQ(built, 1);
  EXPECT_THROW(ops::check(false, "op", "literal"), ShapeError);
}

}  // namespace
}  // namespace blt::test
