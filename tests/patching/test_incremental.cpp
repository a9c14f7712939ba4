// IncrementalPatcher == offline patch_lengths(prefix, include_next_token=true)
// after every push, over random inputs in every mode and option combination,
// including exact threshold ties, BPE delimiters and errors.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/error.h"
#include "patching/incremental.h"
#include "patching/patcher.h"
#include "random_inputs.h"

namespace blt::test {
namespace {

using patching::IncrementalPatcher;
using patching::PatcherArgs;
using patching::PatchingMode;

// Pushes the whole sequence and checks every prefix against the offline patcher. Returns the number of
// prefixes compared (a push may throw exactly where the offline patcher throws; then we stop).
int check_all_prefixes(const PatcherArgs& a, const std::vector<int32_t>& tok, const std::vector<float>& h) {
  IncrementalPatcher inc(a);
  EXPECT_TRUE(inc.next_starts_patch());
  EXPECT_TRUE(inc.lengths().empty());
  for (size_t n = 1; n <= tok.size(); ++n) {
    const std::span<const int32_t> tp(tok.data(), n);
    const std::span<const float> hp(h.data(), n);
    std::vector<int32_t> offline;
    bool offline_throws = false;
    try {
      offline = patching::patch_lengths(a, tp, hp, true);
    } catch (const Error&) {
      offline_throws = true;
    }
    const std::vector<int32_t> before(inc.lengths().begin(), inc.lengths().end());
    if (offline_throws) {
      EXPECT_THROW(inc.push(tok[n - 1], h[n - 1]), Error) << "prefix " << n;
      EXPECT_EQ(inc.size(), static_cast<int64_t>(n - 1));  // state unchanged
      EXPECT_EQ(std::vector<int32_t>(inc.lengths().begin(), inc.lengths().end()), before);
      return static_cast<int>(n - 1);
    }
    inc.push(tok[n - 1], h[n - 1]);
    EXPECT_EQ(inc.size(), static_cast<int64_t>(n));
    const std::vector<int32_t> got(inc.lengths().begin(), inc.lengths().end());
    EXPECT_EQ(got, offline) << "prefix " << n;
    EXPECT_EQ(inc.n_patches(), static_cast<int64_t>(offline.size()));
    EXPECT_EQ(inc.next_starts_patch(), offline.back() == 1) << "prefix " << n;
    if (got != offline) return static_cast<int>(n);
  }
  return static_cast<int>(tok.size());
}

TEST(IncrementalPatcher, MatchesOfflineOnEveryPrefix) {
  std::mt19937 rng(7);
  int64_t n_prefixes = 0;
  for (int it = 0; it < 1500; ++it) {
    const PatcherArgs a = random_args(rng);
    const size_t len = std::uniform_int_distribution<size_t>(1, 48)(rng);
    const auto tok = random_tokens(rng, len);
    const auto h = random_entropies(rng, len);
    SCOPED_TRACE("iteration " + std::to_string(it) + ": " + patching::to_json(a).dump());
    n_prefixes += check_all_prefixes(a, tok, h);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(n_prefixes, 25000);
}

TEST(IncrementalPatcher, EveryModeAndOptionCombination) {
  std::mt19937 rng(11);
  for (PatchingMode mode : {PatchingMode::Entropy, PatchingMode::Bpe, PatchingMode::Space,
                            PatchingMode::Static, PatchingMode::Byte})
    for (int mono = 0; mono < 2; ++mono)
      for (int add = 0; add < 3; ++add)
        for (int64_t max_len : {0, 1, 2, 3, 7})
          for (int rep = 0; rep < 8; ++rep) {
            PatcherArgs a;
            a.patching_mode = mode;
            a.threshold = rep % 2 ? 1.0 : 1.335442066192627;
            a.monotonicity = mono;
            if (add) a.threshold_add = add == 1 ? 0.5 : 0.0;
            if (max_len) a.max_patch_length = max_len;
            a.patch_size = 1 + rep % 4;
            auto tok = random_tokens(rng, 30);
            if (rep == 0) tok[0] = 3;  // bpe: must fail at the second push, like the offline patcher
            const auto h = random_entropies(rng, 30);
            SCOPED_TRACE(patching::to_json(a).dump());
            check_all_prefixes(a, tok, h);
            if (::testing::Test::HasFailure()) return;
          }
}

TEST(IncrementalPatcher, BpeBoundaryMovesWhenTheDelimiterIsFollowed) {
  PatcherArgs a;
  a.patching_mode = PatchingMode::Bpe;
  IncrementalPatcher inc(a);
  inc.push(1, 0);
  inc.push(70, 0);
  inc.push(3, 0);  // a delimiter in the last position is ignored for now
  EXPECT_FALSE(inc.next_starts_patch());
  EXPECT_EQ(std::vector<int32_t>(inc.lengths().begin(), inc.lengths().end()), (std::vector<int32_t>{1, 3}));
  inc.push(71, 0);  // now it counts: token 3 starts a patch
  EXPECT_EQ(std::vector<int32_t>(inc.lengths().begin(), inc.lengths().end()),
            (std::vector<int32_t>{1, 2, 2}));
}

TEST(IncrementalPatcher, ResetAndValidation) {
  PatcherArgs a;
  a.threshold = 1.0;
  IncrementalPatcher inc(a);
  inc.push(1, 5.0f);
  inc.push(70, 2.0f);  // H[1] > t: token 2 starts a patch
  EXPECT_TRUE(inc.next_starts_patch());
  EXPECT_EQ(std::vector<int32_t>(inc.lengths().begin(), inc.lengths().end()),
            (std::vector<int32_t>{1, 1, 1}));
  inc.reset();
  EXPECT_EQ(inc.size(), 0);
  EXPECT_TRUE(inc.lengths().empty());
  a.max_patch_length = 0;
  EXPECT_THROW(IncrementalPatcher{a}, ConfigError);
}

}  // namespace
}  // namespace blt::test
