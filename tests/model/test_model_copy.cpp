// A ByteLatentTransformer copied or moved keeps working after the original is
// gone: its submodules share the configuration through an immutable shared
// pointer instead of referring into the original object. The original lives
// in a buffer that is overwritten after its destructor runs, so a reference
// into it (the old `const BltArgs&` members) reads garbage deterministically
// in a normal build, not only under ASan.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

#include "model/blt.h"
#include "patching/patch_layout.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

std::vector<float> logits(const model::ByteLatentTransformer& m) {
  const std::vector<int32_t> tokens = {1, 70, 71, 36, 72, 73, 74, 36, 75, 76, 2, 1, 77, 78};
  const std::vector<int32_t> lengths = {1, 3, 4, 2, 3, 2};  // sum N+1 (include_next_token)
  const auto layout = patching::make_patch_layout(tokens, lengths, 1, 14, 6, 2);
  Graph g;
  g.set_recording(false);
  const Var out = m.forward(g, tokens, layout);
  return {out.value.data<float>(), out.value.data<float>() + out.value.numel()};
}

void expect_survives_the_original(bool cross) {
  TinyBlt t;
  t.cross = cross;
  model::BltArgs a = tiny_blt_args(t);
  a.validate("test");
  nn::ParamRegistry reg(DType::F32);
  alignas(model::ByteLatentTransformer) std::byte buf[sizeof(model::ByteLatentTransformer)];
  auto* original = ::new (buf) model::ByteLatentTransformer(a, reg);  // placed, so its memory can be poisoned
  reg.allocate();
  Rng rng(4);
  reg.initialize(rng);
  const std::vector<float> want = logits(*original);

  model::ByteLatentTransformer copy(*original);
  original->~ByteLatentTransformer();
  std::memset(buf, 0xA5, sizeof buf);
  EXPECT_EQ(logits(copy), want) << "copy";
  EXPECT_EQ(copy.args().dim_global, a.dim_global);

  const model::ByteLatentTransformer moved(std::move(copy));
  EXPECT_EQ(logits(moved), want) << "moved";
}

TEST(ModelCopy, CopyAndMoveOutliveTheOriginalWithCrossAttention) { expect_survives_the_original(true); }
TEST(ModelCopy, CopyAndMoveOutliveTheOriginalWithPooling) { expect_survives_the_original(false); }

}  // namespace
}  // namespace blt::test
