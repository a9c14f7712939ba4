// PatchLayout against brute-force restatements of the reference definitions:
// patch_ids_from_lengths, decoder_patch_ids_from_lengths (lengths[1:]),
// create_patch_mask_from_ids + repeat_interleave(k) for both cross-attention
// masks, with and without windows; and the errors for bad lengths.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "patching/patch_layout.h"

namespace blt::test {
namespace {

// id(t) = #{k : cum_k <= t} - 1 over cum = [0, l0, l0+l1, ...] (P+1 entries).
int32_t ref_patch_id(const std::vector<int32_t>& len, int64_t t) {
  int64_t cum = 0, count = 1;  // cum_0 = 0 <= t always
  for (int32_t l : len) {
    cum += l;
    count += cum <= t;
  }
  return static_cast<int32_t>(count - 1);
}

struct Case {
  std::vector<int32_t> lengths;  // one row
  int64_t N;
};

// Random rows: first length 1, positive lengths summing to N or N+1, then zero padding.
Case random_case(Rng& rng) {
  Case c;
  c.N = 1 + static_cast<int64_t>(rng.below(40));
  const int64_t total = c.N + static_cast<int64_t>(rng.below(2));
  c.lengths = {1};
  int64_t left = total - 1;
  while (left > 0) {
    const int32_t l = static_cast<int32_t>(std::min<int64_t>(left, 1 + static_cast<int64_t>(rng.below(6))));
    c.lengths.push_back(l);
    left -= l;
  }
  for (uint64_t pad = rng.below(3); pad > 0; --pad) c.lengths.push_back(0);
  return c;
}

TEST(PatchLayout, IdsAndCrossMasksMatchReferenceDefinitions) {
  Rng rng(42);
  for (int it = 0; it < 300; ++it) {
    const Case c = random_case(rng);
    const int64_t P = static_cast<int64_t>(c.lengths.size()), N = c.N;
    std::vector<int32_t> tokens(N, 7);
    const auto l = patching::make_patch_layout(tokens, c.lengths, 1, N, P, 2);
    const std::vector<int32_t> dec_len(c.lengths.begin() + 1, c.lengths.end());
    for (int64_t t = 0; t < N; ++t) {
      ASSERT_EQ(l.patch_ids[t], ref_patch_id(c.lengths, t)) << "t=" << t;
      ASSERT_EQ(l.decoder_patch_ids[t], ref_patch_id(dec_len, t)) << "t=" << t;
    }
    for (int64_t k : {1, 2, 3})
      for (std::optional<int64_t> w : {std::optional<int64_t>{}, std::optional<int64_t>{1}, std::optional<int64_t>{2},
                                       std::optional<int64_t>{3}}) {
        // Encoder: query row q = p·k + j (patch p), key byte t: kv_id(t) <= p < kv_id(t) + w (w = None: equal).
        std::vector<ops::KeyRange> enc(P * k);
        patching::encoder_cross_ranges(l, k, w, enc);
        for (int64_t q = 0; q < P * k; ++q)
          for (int64_t t = 0; t < N; ++t) {
            const int64_t p = q / k, kv = l.patch_ids[t];
            const bool want = w ? (kv <= p && p < kv + *w) : kv == p;
            ASSERT_EQ(t >= enc[q].lo && t < enc[q].hi, want) << "encoder q=" << q << " t=" << t;
          }
        // Decoder: query byte t with id d, key slot s = p·k + j: p <= d < p + w.
        std::vector<ops::KeyRange> dec(N);
        patching::decoder_cross_ranges(l, k, w, dec);
        for (int64_t t = 0; t < N; ++t)
          for (int64_t s = 0; s < P * k; ++s) {
            const int64_t p = s / k, d = l.decoder_patch_ids[t];
            const bool want = w ? (p <= d && d < p + *w) : p == d;
            ASSERT_EQ(s >= dec[t].lo && s < dec[t].hi, want) << "decoder t=" << t << " s=" << s;
          }
      }
  }
}

TEST(PatchLayout, GlobalTokensMarkPatchesHoldingAnEos) {
  // Patches [BOS] [a b EOS] [BOS c] [d]: the second patch holds the EOS.
  const std::vector<int32_t> tokens = {1, 50, 51, 2, 1, 52, 53};
  const std::vector<int32_t> lengths = {1, 3, 2, 2};
  const auto l = patching::make_patch_layout(tokens, lengths, 1, 7, 4, 2);
  EXPECT_EQ(l.global_tokens, (std::vector<int32_t>{0, 2, 0, 0}));
  EXPECT_EQ(l.offsets, (std::vector<int32_t>{0, 1, 4, 6, 7}));  // the last patch's next byte is clipped
}

TEST(PatchLayout, RejectsBadLengths) {
  const std::vector<int32_t> tokens(5, 7);
  EXPECT_THROW(patching::make_patch_layout(tokens, std::vector<int32_t>{1, 2, 1}, 1, 5, 3, 2), Error);      // sums to 4
  EXPECT_THROW(patching::make_patch_layout(tokens, std::vector<int32_t>{1, 2, 2, 2}, 1, 5, 4, 2), Error);   // sums to 7
  EXPECT_THROW(patching::make_patch_layout(tokens, std::vector<int32_t>{2, 2, 1}, 1, 5, 3, 2), Error);      // first != 1
  EXPECT_THROW(patching::make_patch_layout(tokens, std::vector<int32_t>{1, 5, -1}, 1, 5, 3, 2), Error);     // negative
  EXPECT_NO_THROW(patching::make_patch_layout(tokens, std::vector<int32_t>{1, 4, 1}, 1, 5, 3, 2));          // N + 1
}

}  // namespace
}  // namespace blt::test
