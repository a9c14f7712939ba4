// `blt generate` end to end on tests/golden/official_layout (the official
// release layout at tiny size): the cached and --no-cache paths print the
// same text; --json prints one object per prompt with the documented fields;
// --max-bytes 0; an empty prompt; a prompt longer than the context and
// context overflows (one note each on stderr); --show-patches (the ▏ marker
// when not on a terminal); --stop; bad model directories and sampling
// options fail naming the option.
#include <gtest/gtest.h>

#include <fstream>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

const std::string kLayout = "tests/golden/official_layout";

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class CliGenerate : public ::testing::Test {
 protected:
  Result blt(std::vector<std::string> args) {
    args.insert(args.begin(), {"generate", "--model", kLayout});
    return run_blt(args, tmp_.path());
  }
  // The generated text of a single greedy prompt: stdout is the prompt, the text, then a newline.
  std::string greedy_text(const std::string& prompt, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--prompt", prompt, "--greedy", "--max-bytes", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = blt(args);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, prompt.size()), prompt);
    EXPECT_TRUE(!r.out.empty() && r.out.back() == '\n') << r.out;
    return r.out.size() > prompt.size() ? r.out.substr(prompt.size(), r.out.size() - prompt.size() - 1) : "";
  }

  TempDir tmp_;
};

TEST_F(CliGenerate, CachedAndNoCachePrintTheSameText) {
  const Result a = blt({"--prompt", "Hello", "--greedy", "--max-bytes", "20"});
  const Result b = blt({"--prompt", "Hello", "--greedy", "--max-bytes", "20", "--no-cache"});
  ASSERT_EQ(a.rc, 0) << a.err;
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.rfind("Hello", 0), 0u) << a.out;
  EXPECT_GT(a.out.size(), std::string("Hello\n").size()) << "nothing generated";
}

TEST_F(CliGenerate, JsonHasOneObjectPerPromptWithTheFields) {
  const Result r =
      blt({"--prompt", "Hello", "--prompt", "The cat", "--greedy", "--max-bytes", "20", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 2u) << r.out;
  const std::vector<std::string> prompts = {"Hello", "The cat"};
  int64_t global_steps = 0;
  for (size_t i = 0; i < ls.size(); ++i) {
    const nlohmann::json j = nlohmann::json::parse(ls[i]);
    for (const char* key :
         {"text", "ids", "bytes_per_s", "global_steps", "n_bytes", "patch_lengths", "finish"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << ls[i];
    EXPECT_EQ(j["prompt"], prompts[i]);
    const auto ids = j["ids"].get<std::vector<int32_t>>();
    const auto patches = j["patch_lengths"].get<std::vector<int64_t>>();
    // The bytes are the ids' (the text field is valid UTF-8: ill-formed bytes are replaced).
    const std::string bytes = data::decode(ids);
    const std::string as_json =
        nlohmann::json(bytes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    EXPECT_EQ(j["text"], nlohmann::json::parse(as_json));
    EXPECT_EQ(j["n_bytes"].get<size_t>(), bytes.size());
    EXPECT_EQ(ids.size(), 20u) << "greedy on this fixture: no EOS within 20 bytes";
    EXPECT_EQ(std::accumulate(patches.begin(), patches.end(), int64_t{0}),
              static_cast<int64_t>(bytes.size()));
    EXPECT_GE(j["bytes_per_s"].get<double>(), 0.0);
    // One global step per patch closed while generating: at least one per generated patch after the first.
    EXPECT_GE(j["global_steps"].get<int64_t>(), static_cast<int64_t>(patches.size()) - 1);
    global_steps += j["global_steps"].get<int64_t>();
    // The same prompt alone, as plain text, prints these bytes.
    EXPECT_EQ(greedy_text(prompts[i]), data::printable(bytes)) << prompts[i];
  }
  EXPECT_GT(global_steps, 0);
}

TEST_F(CliGenerate, MaxBytesZeroPrintsNothing) {
  const Result r = blt({"--prompt", "Hello", "--max-bytes", "0"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const Result two = blt({"--prompt", "a", "--prompt", "b", "--max-bytes", "0"});
  EXPECT_EQ(two.rc, 0) << two.err;
  EXPECT_EQ(two.out, "");
}

TEST_F(CliGenerate, EmptyPromptWorks) {
  const Result r = blt({"--prompt", "", "--greedy", "--max-bytes", "10", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 1u) << r.out;
  const nlohmann::json j = nlohmann::json::parse(ls[0]);
  EXPECT_EQ(j["prompt"], "");
  EXPECT_EQ(j["prefill_tokens"], 1);  // BOS alone
  EXPECT_FALSE(j["ids"].empty());
  const Result plain = blt({"--prompt", "", "--greedy", "--max-bytes", "10"});
  EXPECT_EQ(plain.rc, 0) << plain.err;
}

TEST_F(CliGenerate, PromptFileGivesOneRowPerLineAndAnEmptyOneFails) {
  const std::string two = (tmp_.path() / "two.txt").string(), none = (tmp_.path() / "none.txt").string();
  std::ofstream(two) << "Hello\nHi\n";
  std::ofstream(none) << "";
  const Result r = blt({"--prompt-file", two, "--greedy", "--max-bytes", "5", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 2u) << r.out;
  const Result e = blt({"--prompt-file", none, "--max-bytes", "5"});
  EXPECT_NE(e.rc, 0);
  EXPECT_TRUE(contains(e.err, "none.txt: no prompts")) << e.err;
  EXPECT_TRUE(e.out.empty()) << e.out;
}

TEST_F(CliGenerate, BadModelDirectoryFails) {
  const Result missing =
      run_blt({"generate", "--model", (tmp_.path() / "nope").string(), "--prompt", "a"}, tmp_.path());
  EXPECT_NE(missing.rc, 0);
  EXPECT_TRUE(contains(missing.err, "--model")) << missing.err;
  const fs::path empty = tmp_.path() / "empty";
  fs::create_directories(empty);
  const Result r = run_blt({"generate", "--model", empty.string(), "--prompt", "a"}, tmp_.path());
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(contains(r.err, "empty")) << "the message should name the directory: " << r.err;
}

TEST_F(CliGenerate, BadSamplingOptionsFailNamingTheOption) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--top-p", "0"}, "--top-p"},  {{"--top-p", "1.5"}, "--top-p"},
      {{"--top-p", "-1"}, "--top-p"}, {{"--temperature", "-1"}, "--temperature"},
      {{"--top-k", "-2"}, "--top-k"}, {{"--max-bytes", "-1"}, "--max-bytes"}};
  for (const auto& [args, option] : cases) {
    std::vector<std::string> all = {"--prompt", "a"};
    all.insert(all.end(), args.begin(), args.end());
    const Result r = blt(all);
    EXPECT_NE(r.rc, 0) << args[0] << " " << args[1];
    EXPECT_TRUE(contains(r.err, option)) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_EQ(r.out, "") << args[0] << " " << args[1];
  }
}

TEST_F(CliGenerate, PromptLongerThanTheContextPrintsANote) {
  const std::string prompt(300, 'x');  // the fixture's context holds 128 bytes
  const Result r = blt({"--prompt", prompt, "--greedy", "--max-bytes", "5"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "note: prompt 0 is longer than the context")) << r.err;
  const Result shorter = blt({"--prompt", "Hello", "--greedy", "--max-bytes", "5"});
  EXPECT_FALSE(contains(shorter.err, "note:")) << shorter.err;
}

TEST_F(CliGenerate, ContextOverflowsPrintOneNote) {
  // Seed 2 overflows the 128-byte context several times across both rows (checked in the JSON).
  const Result r = blt({"--prompt", "Hello", "--prompt", "The cat", "--temperature", "1", "--top-p", "1",
                        "--seed", "2", "--max-bytes", "400", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  int64_t cuts = 0;
  for (const auto& l : lines(r.out)) cuts += nlohmann::json::parse(l)["context_cuts"].get<int64_t>();
  EXPECT_GE(cuts, 3);
  int notes = 0;
  for (const auto& l : lines(r.err)) notes += contains(l, "note: context full (128 tokens)");
  EXPECT_EQ(notes, 1) << r.err;
}

TEST_F(CliGenerate, ShowPatchesMarksPatchStarts) {
  const Result r = blt({"--prompt", "Hello", "--greedy", "--max-bytes", "20", "--show-patches"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\u258F")) << r.out;
  EXPECT_FALSE(contains(r.out, "\x1b[")) << "no colour codes when stdout is not a terminal";
  // Without the markers, the text is the plain output.
  std::string stripped = r.out;
  for (size_t at; (at = stripped.find("\u258F")) != std::string::npos;)
    stripped.erase(at, std::string("\u258F").size());
  const Result plain = blt({"--prompt", "Hello", "--greedy", "--max-bytes", "20"});
  EXPECT_EQ(stripped, plain.out);
}

TEST_F(CliGenerate, StopCutsTheText) {
  const Result full = blt({"--prompt", "Hello", "--greedy", "--max-bytes", "20", "--json"});
  ASSERT_EQ(full.rc, 0) << full.err;
  const std::string bytes = data::decode(nlohmann::json::parse(full.out)["ids"].get<std::vector<int32_t>>());
  // A stop of two printable ASCII bytes (it must travel through argv) from the middle of the text.
  size_t from = 3;
  while (from + 1 < bytes.size() && !(std::isprint(static_cast<unsigned char>(bytes[from])) &&
                                      std::isprint(static_cast<unsigned char>(bytes[from + 1]))))
    ++from;
  ASSERT_LT(from + 1, bytes.size()) << "no printable pair in the generated bytes";
  const std::string stop = bytes.substr(from, 2);
  const size_t at = bytes.find(stop);
  const std::string cut = greedy_text("Hello", {"--stop", stop});
  EXPECT_EQ(cut, data::printable(bytes.substr(0, at))) << "stop '" << stop << "'";
  const Result j = blt({"--prompt", "Hello", "--greedy", "--max-bytes", "20", "--stop", stop, "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  const nlohmann::json o = nlohmann::json::parse(j.out);
  EXPECT_EQ(o["finish"], "stop");
  EXPECT_EQ(o["n_bytes"].get<size_t>(), at);
  EXPECT_EQ(o["ids"].size(), at + stop.size());
}

}  // namespace
}  // namespace blt::test
