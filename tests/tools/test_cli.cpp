// The `blt` binary end to end: each test runs it (posix_spawn, stdout and
// stderr captured) in a fresh temporary directory and checks the exit code,
// the output and the message. Covers `blt patch` (the reference fixture via
// --entropies, the model-free modes, --svg, bad inputs), the bad-input paths
// of `train-entropy` and `entropy`, and `--help` of every command. A tiny
// entropy model is trained once per run with `blt train-entropy --steps 2`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "blas/cpu_features.h"
#include "core/tensor.h"
#include "io/safetensors.h"
#include "io/temp_dir.h"
#include "support/fixtures.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;


std::string join(const std::vector<std::string>& args) {
  std::string s = "blt";
  for (const auto& a : args) s += " " + a;
  return s;
}


// The tiny LM of every test that needs a model: dim 16, 1 layer, 2 heads.
const char* kTinyConfig = R"({
  "entropy_model": {"dim": 16, "n_layers": 1, "n_heads": 2, "max_seqlen": 32, "sliding_window": 32,
                    "attn_bias_type": "local_block_causal", "multiple_of": 16, "vocab_size": 260},
  "data": {"patcher_args": {"patching_mode": "entropy", "threshold": 1.335442066192627}},
  "train": {"batch": 2, "seq_len": 32, "lr": 0.003, "warmup": 1, "log_every": 1, "eval_every": 0, "save_every": 0}
})";

std::string tiny_corpus() {
  std::string s;
  const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "runs"};
  for (int i = 0; i < 300; ++i) s += std::string(words[(i * 7) % 11]) + ((i % 9 == 8) ? "\n" : " ");
  return s;
}

class Cli : public ::testing::Test {
 protected:
  // Trains the shared tiny model once.
  static void SetUpTestSuite() {
    suite_dir_ = std::make_unique<TempDir>();
    const fs::path d = suite_dir_->path();
    write_raw((d / "tiny.json").string(), kTinyConfig);
    write_raw((d / "corpus.txt").string(), tiny_corpus());
    model_ = (d / "tiny_model").string();
    const Result r = run_blt({"train-entropy", "--config", (d / "tiny.json").string(), "--data",
                              (d / "corpus.txt").string(), "--out", model_, "--steps", "2"},
                             scratch_dir());
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  static void TearDownTestSuite() { suite_dir_.reset(); }

  static fs::path scratch_dir() {
    const fs::path p = suite_dir_->path() / "scratch";
    fs::create_directories(p);
    return p;
  }

  Result blt(const std::vector<std::string>& args) { return run_blt(args, scratch_dir()); }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string write(const std::string& name, std::string_view bytes) const {
    write_raw(file(name), bytes);
    return file(name);
  }
  static const std::string& model() { return model_; }

  // Expects a failure whose stderr names every needle.
  void expect_failure(const std::vector<std::string>& args, std::initializer_list<std::string> needles) {
    const Result r = blt(args);
    EXPECT_NE(r.rc, 0) << join(args) << "\nstdout: " << r.out;
    for (const std::string& n : needles)
      EXPECT_TRUE(contains(r.err, n)) << join(args) << "\nexpected '" << n << "' in stderr: " << r.err;
  }

  TempDir dir_;
  static std::unique_ptr<TempDir> suite_dir_;
  static std::string model_;
};

std::unique_ptr<TempDir> Cli::suite_dir_;
std::string Cli::model_;

nlohmann::json parse_line(const Result& r) {
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  return nlohmann::json::parse(r.out);
}

std::vector<int32_t> lengths_of(const nlohmann::json& j) {
  return j.at("patch_lengths").get<std::vector<int32_t>>();
}

// ---------------------------------------------------------------- blt patch

struct ReferenceSentence {
  std::string text;
  std::vector<double> entropies;  // 81: BOS, 79 bytes, EOS
};

ReferenceSentence load_reference() {
  const nlohmann::json j =
      nlohmann::json::parse(read_raw(fixture("reference/tokens_with_entropies.json").string()));
  ReferenceSentence s;
  const size_t n = j.at("token_ids").size();
  for (size_t i = 0; i < n; ++i) {
    const std::string k = std::to_string(i);
    const int id = j.at("token_ids").at(k).get<int>();
    if (id >= 4) s.text.push_back(static_cast<char>(id - 4));
    s.entropies.push_back(j.at("entropies").at(k).get<double>());
  }
  return s;
}

const std::vector<int32_t> kReferenceLengths = {1, 1, 1, 1, 1, 15, 3, 3, 1, 1, 3, 12,
                                                1, 1, 1, 1, 1, 5,  5, 1, 2, 1, 19};

TEST_F(Cli, PatchReferenceFixtureFromEntropies) {
  BLT_REQUIRE_FIXTURE(fixture("reference/tokens_with_entropies.json"));
  const ReferenceSentence ref = load_reference();
  ASSERT_EQ(ref.entropies.size(), 81u);
  ASSERT_EQ(ref.text.size(), 79u);
  const std::string e = write("e.json", nlohmann::json(ref.entropies).dump());
  const std::string txt = write("s.txt", ref.text);

  // The sentence is BOS + 79 bytes + EOS: 81 positions, one entropy each.
  nlohmann::json j = parse_line(blt({"patch", "--entropies", e, txt, "--eos", "--format", "jsonl"}));
  EXPECT_EQ(lengths_of(j), kReferenceLengths);
  EXPECT_EQ(j.at("n_patches"), 23);
  EXPECT_EQ(j.at("n_positions"), 81);
  EXPECT_NEAR(j.at("mean_patch_size").get<double>(), 81.0 / 23, 1e-12);
  EXPECT_EQ(j.at("mode"), "entropy");
  EXPECT_EQ(j.at("threshold").get<double>(), 1.335442066192627);
  std::string joined;
  for (const auto& p : j.at("patches")) joined += p.get<std::string>();
  EXPECT_EQ(joined, ref.text);
  EXPECT_EQ(j.at("patches").at(5), "erys Targaryen ");

  // Without text: the same positions patched.
  j = parse_line(blt({"patch", "--entropies", e, "--format", "jsonl"}));
  EXPECT_EQ(lengths_of(j), kReferenceLengths);
  EXPECT_FALSE(j.contains("patches"));

  // With the next token: only the last patch grows (e[80] is tiny).
  j = parse_line(blt({"patch", "--entropies", e, "--include-next-token", "--format", "jsonl"}));
  std::vector<int32_t> grown = kReferenceLengths;
  grown.back() += 1;
  EXPECT_EQ(lengths_of(j), grown);

  // The same entropies as .f32.
  std::string f32;
  for (double v : ref.entropies) {
    const float x = static_cast<float>(v);
    f32.append(reinterpret_cast<const char*>(&x), 4);  // little-endian hosts only, as blt entropy
  }
  j = parse_line(blt({"patch", "--entropies", write("e.f32", f32), "--format", "jsonl"}));
  EXPECT_EQ(lengths_of(j), kReferenceLengths);

  // Text format: statistics, then the patches with separators.
  const Result t = blt({"patch", "--entropies", e, txt, "--eos"});
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_TRUE(contains(t.out, "patches 23  positions 81")) << t.out;
  EXPECT_TRUE(contains(t.out,
                       "\xE2\x96\x8F"
                       "erys Targaryen \xE2\x96\x8F"))
      << t.out;
  EXPECT_FALSE(contains(t.out, "\x1b[")) << "no colours when piped";
}

TEST_F(Cli, PatchModesWithoutModel) {
  const std::string text = "Hello, world! 42 bytes";
  const std::string txt = write("t.txt", text);
  const auto n = static_cast<int32_t>(text.size()) + 1;

  nlohmann::json j = parse_line(blt({"patch", "--mode", "byte", txt, "--format", "jsonl"}));
  EXPECT_EQ(lengths_of(j), std::vector<int32_t>(static_cast<size_t>(n), 1));
  EXPECT_EQ(j.at("mode"), "byte");
  EXPECT_TRUE(j.at("threshold").is_null());

  j = parse_line(blt({"patch", "--mode", "static", "--patch-size", "4", txt, "--format", "jsonl"}));
  EXPECT_EQ(lengths_of(j), (std::vector<int32_t>{4, 4, 4, 4, 4, 3}));

  j = parse_line(blt({"patch", "--mode", "static", txt, "--format", "jsonl"}));  // default patch size 4
  EXPECT_EQ(lengths_of(j), (std::vector<int32_t>{4, 4, 4, 4, 4, 3}));

  // Space mode: a delimiter closes its patch; in a run only the first counts ("! " -> "!" closes).
  j = parse_line(blt({"patch", "--mode", "space", txt, "--format", "jsonl"}));
  EXPECT_EQ(j.at("patches"), (std::vector<std::string>{"", "Hello,", " world!", " 42 ", "bytes"}));
  EXPECT_EQ(j.at("n_positions"), n);

  const Result t = blt({"patch", "--mode", "space", txt});
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_TRUE(contains(t.out, "Hello,\xE2\x96\x8F world!")) << t.out;

  // Text view: controls escaped, a character cut by a boundary as \xNN on both sides, invalid UTF-8 as
  // U+FFFD; jsonl keeps the bytes (printable) and drops the BOS.
  const std::string odd = write("odd.txt", "caf\xC3\xA9\t\xFF");
  const Result v = blt({"patch", "--mode", "byte", odd});
  ASSERT_EQ(v.rc, 0) << v.err;
  const std::string sep = "\xE2\x96\x8F";
  EXPECT_TRUE(contains(v.out,
                       "\xE2\x9F\xA8"
                       "BOS\xE2\x9F\xA9" +
                           sep + "c" + sep + "a" + sep + "f" + sep + "\\xC3" + sep + "\\xA9" + sep + "\\t" +
                           sep + "\xEF\xBF\xBD\n"))
      << v.out;
  j = parse_line(blt({"patch", "--mode", "static", "--patch-size", "6", odd, "--format", "jsonl"}));
  EXPECT_EQ(j.at("patches"), (std::vector<std::string>{"caf\xC3\xA9", "\t\xEF\xBF\xBD"}));
}

TEST_F(Cli, PatchBpeMode) {
  const fs::path spm = shared_dir() / "corpus" / "bpe" / "spm_bpe_4096.model";
  if (!fs::exists(spm)) GTEST_SKIP() << "SentencePiece model not found: " << spm;
  const std::string text = "the lazy dog jumps over the brown fox";
  const nlohmann::json j = parse_line(blt(
      {"patch", "--mode", "bpe", "--bpe-model", spm.string(), write("t.txt", text), "--format", "jsonl"}));
  // [BOS] + ([BPE] + piece bytes) per piece: each patch after the first two is one piece (its [BPE] ends it).
  const auto lengths = lengths_of(j);
  ASSERT_GE(lengths.size(), 3u);
  EXPECT_EQ(lengths[0], 1);
  EXPECT_EQ(lengths[1], 1);  // the first [BPE]
  std::string joined;
  for (const auto& piece : j.at("patches")) joined += piece.get<std::string>();
  EXPECT_EQ(joined, text);
  EXPECT_GT(j.at("n_positions").get<int64_t>(), static_cast<int64_t>(text.size()) + 1);
}

TEST_F(Cli, PatchWithTinyModel) {
  ASSERT_TRUE(fs::exists(fs::path(model()) / "params.json"));
  const std::string txt = write("q.txt", "the lazy dog jumps over the brown fox");
  nlohmann::json j = parse_line(blt({"patch", "--model", model(), txt, "--format", "jsonl"}));
  EXPECT_EQ(j.at("n_positions"), 38);
  EXPECT_EQ(j.at("mode"), "entropy");

  j = parse_line(blt(
      {"patch", "--model", model(), txt, "--mode", "monotonic", "--threshold", "0.01", "--format", "jsonl"}));
  EXPECT_EQ(j.at("mode"), "monotonic");
  EXPECT_EQ(lengths_of(j).at(0), 1);
  EXPECT_EQ(lengths_of(j).at(1), 1);  // token 2 always starts a patch

  j = parse_line(blt({"patch", "--model", model(), txt, "--max-patch-length", "3", "--threshold", "100",
                      "--format", "jsonl"}));
  for (int32_t l : lengths_of(j)) EXPECT_LE(l, 3);

  const Result t = blt({"patch", "--model", model(), txt, "--target-patch-size", "3"});
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_TRUE(contains(t.out, "calibrated threshold")) << t.out;
  EXPECT_TRUE(contains(t.out, "achieved")) << t.out;
}

TEST_F(Cli, PatchSvg) {
  const std::string txt = write("t.txt", "a few words to draw");
  const std::string svg = file("fig.svg");
  const Result r = blt({"patch", "--model", model(), txt, "--svg", svg});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string s = read_raw(svg);
  EXPECT_TRUE(contains(s, "<svg")) << s.substr(0, 200);
  EXPECT_TRUE(contains(s, "</svg>"));
  EXPECT_TRUE(contains(s, "patch-start"));
  EXPECT_TRUE(contains(s, "class=\"threshold\""));
  // Only the figure was written: no temporary files left behind.
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"fig.svg", "t.txt"}));

  // Model-free modes draw the patches without an entropy line.
  const Result b = blt({"patch", "--mode", "space", txt, "--svg", file("space.svg")});
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_TRUE(contains(read_raw(file("space.svg")), "patch-start"));
}

TEST_F(Cli, PatchBadInputs) {
  const std::string txt = write("t.txt", "some text");
  const std::string e10 = write("e10.json", "[1,2,3,4,5,6,7,8,9,10]");
  expect_failure({"patch", "--mode", "byte", file("missing.txt")}, {"error:", file("missing.txt")});
  expect_failure({"patch", "--mode", "byte", write("empty.txt", "")}, {"error:", file("empty.txt"), "empty"});
  expect_failure({"patch", "--entropies", e10, txt, "--threshold", "nan"}, {"error:", "--threshold", "nan"});
  expect_failure({"patch", "--entropies", e10, txt, "--threshold", "-1"}, {"error:", "--threshold", "-1"});
  expect_failure({"patch", "--entropies", write("e.f32", std::string(7, '\0'))},
                 {"error:", file("e.f32"), "size 7", "multiple of 4"});
  expect_failure({"patch", "--entropies", write("e.json", "[]")}, {"error:", file("e.json")});
  expect_failure({"patch", "--entropies", write("nan.json", "[1.0, NaN]")},
                 {"error:", file("nan.json"), "NaN"});
  // 10 entropies for [BOS] + 9 bytes is right; 10 for "some text!" (11 positions) is not.
  EXPECT_EQ(blt({"patch", "--entropies", e10, txt}).rc, 0);
  expect_failure({"patch", "--entropies", e10, write("t11.txt", "some text!")},
                 {"error:", e10, "10 entropies", "11 positions"});
  expect_failure({"patch", txt}, {"error:", "--model", "--entropies"});  // entropy mode needs entropies
  expect_failure({"patch", "--mode", "bpe", txt}, {"error:", "--bpe-model"});
  expect_failure({"patch", "--mode", "static", "--threshold", "2", txt}, {"error:", "--threshold", "static"});
  expect_failure({"patch", "--model", file("no_model"), txt}, {"error:", file("no_model")});
  expect_failure({"patch", "--entropies", e10, "--target-patch-size", "0"},
                 {"error:", "--target-patch-size"});

  // An SVG into a missing directory: an error naming it, and nothing written anywhere.
  const auto before = dir_.entries();
  expect_failure({"patch", "--entropies", e10, txt, "--svg", file("nodir/fig.svg")},
                 {"error:", file("nodir/fig.svg")});
  EXPECT_EQ(dir_.entries(), before);
  // An error after the SVG was requested leaves an existing figure untouched.
  const std::string old_svg = write("old.svg", "old figure");
  expect_failure({"patch", "--entropies", e10, txt, "--threshold", "nan", "--svg", old_svg}, {"--threshold"});
  EXPECT_EQ(read_raw(old_svg), "old figure");
}

// ---------------------------------------------------------------- blt train-entropy

class CliTrain : public Cli {
 protected:
  // No model files (nor temporaries) under --out after a failed run.
  void expect_no_model(const std::string& out) {
    if (!fs::exists(out)) return;
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(name != "params.json" && name != "model.safetensors" && !contains(name, ".tmp-"))
          << "left behind: " << e.path();
    }
  }
};

TEST_F(CliTrain, MissingDataPath) {
  const std::string cfg = write("tiny.json", kTinyConfig), out = file("out");
  expect_failure({"train-entropy", "--config", cfg, "--data", file("nope.txt"), "--out", out, "--steps", "2"},
                 {file("nope.txt")});
  expect_no_model(out);
}

TEST_F(CliTrain, EmptyDataFile) {
  const std::string cfg = write("tiny.json", kTinyConfig), out = file("out");
  expect_failure(
      {"train-entropy", "--config", cfg, "--data", write("empty.txt", ""), "--out", out, "--steps", "2"},
      {"error:", file("empty.txt")});
  expect_no_model(out);
}

TEST_F(CliTrain, ConfigWithMissingField) {
  nlohmann::json cfg = nlohmann::json::parse(kTinyConfig);
  cfg["entropy_model"].erase("dim");
  const std::string out = file("out");
  expect_failure({"train-entropy", "--config", write("c.json", cfg.dump()), "--data",
                  write("d.txt", tiny_corpus()), "--out", out, "--steps", "2"},
                 {"error:", file("c.json"), "'dim'", "missing"});
  expect_no_model(out);
}

TEST_F(CliTrain, ConfigWithMistypedField) {
  nlohmann::json cfg = nlohmann::json::parse(kTinyConfig);
  cfg["entropy_model"]["dim"] = "sixteen";
  const std::string out = file("out");
  expect_failure({"train-entropy", "--config", write("c.json", cfg.dump()), "--data",
                  write("d.txt", tiny_corpus()), "--out", out, "--steps", "2"},
                 {"error:", file("c.json"), "'dim'", "integer", "sixteen"});
  expect_no_model(out);
}

// ---------------------------------------------------------------- blt entropy

TEST_F(Cli, EntropyWithWrongShapedTensor) {
  ASSERT_TRUE(fs::exists(fs::path(model()) / "model.safetensors"));
  // A model directory for the tiny config whose tok_embeddings has 8 columns instead of 16.
  const fs::path bad = dir_.path() / "bad_model";
  fs::create_directories(bad);
  write_raw((bad / "params.json").string(), nlohmann::json::parse(kTinyConfig).dump());
  const io::SafetensorsFile good =
      io::SafetensorsFile::open((fs::path(model()) / "model.safetensors").string());
  ASSERT_TRUE(good.contains("tok_embeddings.weight"));
  std::vector<Tensor> keep;
  std::vector<std::pair<std::string, TensorView>> tensors;
  for (const std::string& name : good.names()) {
    keep.push_back(name == "tok_embeddings.weight" ? Tensor::zeros(Shape{260, 8}) : good.read(name));
    tensors.emplace_back(name, keep.back().view());
  }
  io::write_safetensors((bad / "model.safetensors").string(), tensors);
  const std::string txt = write("t.txt", "hello");
  const std::string out = file("h.f32");
  expect_failure({"entropy", "--model", bad.string(), txt, "-o", out},
                 {"error:", "tok_embeddings.weight", "(260,8)", "(260,16)"});
  EXPECT_FALSE(fs::exists(out));
  // The intact model works on the same input: 6 positions, 4 bytes each.
  const Result r = blt({"entropy", "--model", model(), txt, "-o", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(fs::file_size(out), 6u * 4);
}

// ---------------------------------------------------------------- --help

TEST_F(Cli, EveryCommandHasHelp) {
  const Result top = blt({"--help"});
  ASSERT_EQ(top.rc, 0) << top.err;
  // The subcommands as `blt --help` lists them.
  std::vector<std::string> commands;
  std::istringstream in(top.out.substr(top.out.find("Subcommands:")));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && line.rfind("  ", 0) == 0) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    commands.push_back(name);
  }
  for (const char* want : {"train-entropy", "entropy", "generate", "patch"})
    EXPECT_NE(std::find(commands.begin(), commands.end(), want), commands.end()) << want << " not in:\n"
                                                                                 << top.out;
  for (const std::string& c : commands) {
    const Result r = blt({c, "--help"});
    EXPECT_EQ(r.rc, 0) << c << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "Usage:")) << c << ": " << r.out;
  }
  const Result p = blt({"patch", "--help"});
  for (const char* opt : {"--model", "--mode", "--threshold", "--threshold-add", "--target-patch-size",
                          "--max-patch-length", "--patch-size", "--entropies", "--include-next-token",
                          "--eos", "--bpe-model", "--format", "--color", "--svg"})
    EXPECT_TRUE(contains(p.out, opt)) << opt;
}

TEST_F(Cli, UsageErrorsSayErrorAndExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"bogus"}, {}, {"patch", "--no-such-flag", "x"}, {"entropy", "--model", model(), write("t.txt", "ab"),
                                                            "--chunk", "0"}}) {
    const Result r = blt(args);
    EXPECT_EQ(r.rc, 2) << join(args) << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "error: ")) << join(args) << ": " << r.err;
    EXPECT_LT(r.err.size(), 400u) << join(args) << ": a usage message fits in a few lines: " << r.err;
  }
  EXPECT_TRUE(contains(blt({"entropy", "--model", model(), file("t.txt"), "--chunk", "0"}).err,
                       "--chunk: must be > 0, got 0"));
}

TEST_F(Cli, VersionAndThreadsAfterTheSubcommand) {
  const Result v = blt({"--version"});
  EXPECT_EQ(v.rc, 0);
  EXPECT_TRUE(contains(v.out, "blt.cpp ")) << v.out;
  // OpenBLAS 0.3.21 falls back to its SSE3 "Prescott" kernels on CPU models it does not know (a Sapphire
  // Rapids Xeon); blt re-executes itself with the kernel set the CPU's features allow (blas/openblas_kernels.h).
  EXPECT_TRUE(contains(v.out, "OpenBLAS kernels: ")) << v.out;
  if (blas::cpu_has_avx2_fma()) {
    EXPECT_FALSE(contains(v.out, "OpenBLAS kernels: Prescott")) << v.out;
  }
  const std::string text = write("s.txt", "hello world, hello there");
  const Result before = blt({"--threads", "1", "patch", "--mode", "space", text});
  const Result after = blt({"patch", "--mode", "space", text, "--threads", "1"});
  EXPECT_EQ(after.rc, 0) << after.err;
  EXPECT_EQ(before.out, after.out);
  const Result bad = blt({"patch", "--mode", "space", text, "--threads", "-1"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_TRUE(contains(bad.err, "--threads: must be >= 0, got -1")) << bad.err;
}

}  // namespace
}  // namespace blt::test
