// `blt eval` through the real binary on the tiny official-layout BLT
// (tests/golden/official_layout): the JSON report, and `--trace FILE`, which
// writes the first window's named activations: every layer of the encoder,
// the global model and the decoder, the patch states and the logits, with
// shapes that follow the model, consistent with each other, and without
// changing the result.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const char* kModel = "tests/golden/official_layout";
const char* kText = "In the beginning God created the heaven and the earth. And the earth was without form.\n";

TEST(CliEval, TraceWritesEveryLayerAndLeavesTheResult) {
  TempDir dir;
  const fs::path text = dir.path() / "valid.txt", trace = dir.path() / "trace.safetensors";
  io::write_file_atomic(text.string(), kText);
  const Result plain = run_blt({"eval", "--model", kModel, text.string(), "--json"}, dir.path());
  ASSERT_EQ(plain.rc, 0) << plain.err;
  const Result traced = run_blt({"eval", "--model", kModel, text.string(), "--json", "--trace", trace.string()}, dir.path());
  ASSERT_EQ(traced.rc, 0) << traced.err;
  EXPECT_EQ(nlohmann::json::parse(plain.out)["bpb"], nlohmann::json::parse(traced.out)["bpb"]);
  EXPECT_TRUE(contains(traced.err, "activations written to"));

  const auto f = io::SafetensorsFile::open(trace.string());
  const nlohmann::json cfg = nlohmann::json::parse(io::read_file(std::string(kModel) + "/config.json"))["args"];
  const int64_t N = static_cast<int64_t>(std::string(kText).size()) + 1;  // [BOS] + bytes
  const auto shape_of = [&](const std::string& name) {
    EXPECT_TRUE(f.contains(name)) << name << " missing from the trace";
    return f.contains(name) ? f.info(name).shape : std::vector<int64_t>{};
  };
  for (int64_t l = 0; l < cfg["n_layers_local_encoder"].get<int64_t>(); ++l)
    EXPECT_EQ(shape_of("local_encoder.layers." + std::to_string(l) + ".out"),
              (std::vector<int64_t>{1, N, cfg["dim_local_encoder"].get<int64_t>()}));
  for (int64_t l = 0; l < cfg["n_layers_local_decoder"].get<int64_t>(); ++l)
    EXPECT_EQ(shape_of("local_decoder.layers." + std::to_string(l) + ".out"),
              (std::vector<int64_t>{1, N, cfg["dim_local_decoder"].get<int64_t>()}));
  const std::vector<int64_t> global_in = shape_of("global_in");
  ASSERT_EQ(global_in.size(), 3u);
  for (int64_t l = 0; l < cfg["n_layers_global"].get<int64_t>(); ++l)
    EXPECT_EQ(shape_of("global_transformer.layers." + std::to_string(l) + ".out"),
              (std::vector<int64_t>{1, global_in[1], cfg["dim_global"].get<int64_t>()}));
  EXPECT_EQ(shape_of("logits"), (std::vector<int64_t>{1, N, 260}));

  // The last encoder layer's output is the encoder's output; the last global layer's is the global output.
  const auto last = [&](const char* stack, const char* count) {
    return std::string(stack) + ".layers." + std::to_string(cfg[count].get<int64_t>() - 1) + ".out";
  };
  const auto same = [&](const std::string& a, const std::string& b) {
    const Tensor x = f.read(a), y = f.read(b);
    ASSERT_EQ(x.shape(), y.shape()) << a << " vs " << b;
    for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(x.at(i), y.at(i)) << a << " vs " << b << " at " << i;
  };
  same(last("local_encoder", "n_layers_local_encoder"), "h_encoder");
  same(last("global_transformer", "n_layers_global"), "global_out");
}

TEST(CliEval, TraceToAMissingFolderFailsNamingThePath) {
  TempDir dir;
  const fs::path text = dir.path() / "valid.txt";
  io::write_file_atomic(text.string(), kText);
  const std::string bad = (dir.path() / "no" / "such" / "trace.safetensors").string();
  const Result r = run_blt({"eval", "--model", kModel, text.string(), "--trace", bad}, dir.path());
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(contains(r.err, "no/such")) << r.err;
}

}  // namespace
}  // namespace blt::test
