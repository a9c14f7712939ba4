// Corpus readers on temporary files: .txt, .jsonl, .txt.zst, .jsonl.zst (made here with
// libzstd's simple API), directories, and every error path (malformed line -> file:line,
// missing path, truncated zstd, empty corpus); then the shared valid split, if present.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/documents.h"
#include "support/config_checks.h"
#include "data/tokenizer.h"
#include "io/json_fields.h"
#include "support/fixtures.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

std::string zstd_compress(const std::string& raw, int level = 3) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(n);
  return out;
}

std::vector<std::string> read_all(const std::string& path) {
  data::DocumentReader r(path);
  std::vector<std::string> docs;
  std::string d;
  while (r.next(d)) docs.push_back(d);
  EXPECT_FALSE(r.next(d));  // stays at the end
  return docs;
}


class Documents : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("blt_test_data_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& rel, const std::string& bytes) {
    const fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  static std::string jsonl(const std::vector<std::string>& texts) {
    std::string out;
    for (const auto& t : texts) out += nlohmann::json{{"id", "x"}, {"text", t}}.dump() + "\n";
    return out;
  }

  fs::path dir_;
};

TEST_F(Documents, TxtIsOneDocumentOfRawBytes) {
  const std::string bytes("line 1\nline 2\r\n\x00\xff\xfe end", 22);
  EXPECT_EQ(read_all(write("a.txt", bytes)), std::vector<std::string>{bytes});
  EXPECT_EQ(read_all(write("b.txt.zst", zstd_compress(bytes))), std::vector<std::string>{bytes});
  EXPECT_TRUE(read_all(write("empty.txt", "")).empty());
}

TEST_F(Documents, JsonlTextFields) {
  std::string content = jsonl({"first\n", "tab\there \"quoted\" back\\slash", ""});
  content += "\n";                                                         // blank line: skipped
  content += std::string(R"({"text": "crlf line", "n": 1})") + "\r\n";     // CRLF
  content += std::string(R"({"text": "gr\u00fc\u00dfe \u4e16"})") + "\n";  // \u escapes
  content += R"({"text": "no final newline"})";
  const std::string gruesse =
      "gr\xC3\xBC\xC3\x9F"
      "e \xE4\xB8\x96";
  const std::vector<std::string> expect = {"first\n", "tab\there \"quoted\" back\\slash", "crlf line",
                                           gruesse, "no final newline"};
  EXPECT_EQ(read_all(write("a.jsonl", content)), expect);
  EXPECT_EQ(read_all(write("a.jsonl.zst", zstd_compress(content))), expect);
}

TEST_F(Documents, JsonlZstStreamsManyChunksAndFrames) {
  // ~1.3 MB over 64 KiB chunks, with lines longer than a chunk, in two concatenated frames.
  std::vector<std::string> texts;
  for (int i = 0; i < 3000; ++i)
    texts.push_back("doc " + std::to_string(i) + " " + std::string(i % 700, 'a' + i % 26));
  texts.push_back(std::string(200000, 'z'));
  const std::vector<std::string> first(texts.begin(), texts.begin() + 1500),
      second(texts.begin() + 1500, texts.end());
  const std::string path =
      write("big.jsonl.zst", zstd_compress(jsonl(first), 1) + zstd_compress(jsonl(second), 19));
  EXPECT_EQ(read_all(path), texts);
}

TEST_F(Documents, MalformedLinesNameFileAndLine) {
  const std::string bad_json = write("bad.jsonl", jsonl({"ok", "ok"}) + "{\"text\": \"unterminated\n");
  std::string msg = error_message<FormatError>([&] { read_all(bad_json); });
  EXPECT_NE(msg.find(bad_json + ":3"), std::string::npos) << msg;

  const std::string missing = write("missing.jsonl", jsonl({"ok"}) + R"({"txt": "x"})" + std::string("\n"));
  msg = error_message<FormatError>([&] { read_all(missing); });
  EXPECT_NE(msg.find(missing + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'text'"), std::string::npos) << msg;

  const std::string wrong_type = write("wrong.jsonl", std::string(R"({"text": 5})") + "\n");
  msg = error_message<FormatError>([&] { read_all(wrong_type); });
  EXPECT_NE(msg.find(wrong_type + ":1"), std::string::npos) << msg;

  const std::string not_object = write("array.jsonl.zst", zstd_compress("\n[1, 2]\n"));
  msg = error_message<FormatError>([&] { read_all(not_object); });
  EXPECT_NE(msg.find(not_object + ":2"), std::string::npos) << msg;
}

// Found by fuzz_corpus: nlohmann's out_of_range for a number beyond double escaped the reader.
TEST_F(Documents, NumberBeyondDoubleNamesFileAndLine) {
  const std::string huge = write("huge.jsonl", jsonl({"ok"}) + R"({"text": "x", "score": 1e400})" + "\n");
  const std::string msg = error_message<FormatError>([&] { read_all(huge); });
  EXPECT_NE(msg.find(huge + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1e400"), std::string::npos) << msg;
}

TEST_F(Documents, CorruptAndTruncatedZstd) {
  const std::string full = zstd_compress(jsonl({std::string(100000, 'q'), "tail"}));
  const std::string truncated = write("trunc.jsonl.zst", full.substr(0, full.size() / 2));
  std::string msg = error_message<FormatError>([&] { read_all(truncated); });
  EXPECT_NE(msg.find(truncated), std::string::npos) << msg;
  const std::string garbage = write("garbage.txt.zst", "this is not zstd data");
  msg = error_message<FormatError>([&] { read_all(garbage); });
  EXPECT_NE(msg.find(garbage), std::string::npos) << msg;
}

TEST_F(Documents, MissingPathAndUnsupportedExtension) {
  const std::string missing = (dir_ / "nope.jsonl").string();
  EXPECT_NE(error_message<IoError>([&] { data::expand_corpus_paths({missing}); }).find(missing),
            std::string::npos);
  EXPECT_NE(error_message<IoError>([&] { data::DocumentReader r(missing); }).find(missing), std::string::npos);
  EXPECT_NE(error_message<IoError>([&] { data::load_corpus({missing}); }).find(missing), std::string::npos);
  const std::string other = write("notes.md", "# hi");
  EXPECT_NE(error_message<Error>([&] { data::expand_corpus_paths({other}); }).find(other), std::string::npos);
}

TEST_F(Documents, DirectoriesAreRecursiveAndSorted) {
  write("corpus/b.txt", "B");
  write("corpus/a.jsonl", jsonl({"A1", "A2"}));
  write("corpus/sub/c.jsonl.zst", zstd_compress(jsonl({"C1"})));
  write("corpus/sub/deeper/d.txt.zst", zstd_compress("D"));
  write("corpus/README.md", "not a corpus file");
  write("corpus/sub/e.json", "{}");
  const std::string single = write("single.txt", "S");
  const std::string root = (dir_ / "corpus").string();

  const auto files = data::expand_corpus_paths({single, root});
  const std::vector<std::string> expect = {single, root + "/a.jsonl", root + "/b.txt",
                                           root + "/sub/c.jsonl.zst", root + "/sub/deeper/d.txt.zst"};
  EXPECT_EQ(files, expect);

  const data::Corpus c = data::load_corpus({single, root});
  ASSERT_EQ(c.size(), 6u);
  const std::vector<std::string> docs = {"S", "A1", "A2", "B", "C1", "D"};
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(c.doc(i), docs[i]);
  EXPECT_EQ(c.bytes, "SA1A2BC1D");
  EXPECT_EQ(c.offsets, (std::vector<int64_t>{0, 1, 3, 5, 6, 8, 9}));

  fs::create_directories(dir_ / "empty_dir" / "sub");
  write("empty_dir/sub/x.csv", "a,b");
  const std::string empty_dir = (dir_ / "empty_dir").string();
  EXPECT_NE(error_message<Error>([&] { data::expand_corpus_paths({empty_dir}); }).find(empty_dir),
            std::string::npos);
}

TEST_F(Documents, EmptyCorpusIsAnErrorAndEmptyFilesWarn) {
  std::vector<std::string> warnings;
  io::set_warning_sink([&](const std::string& m) { warnings.push_back(m); });
  const std::string empty_txt = write("e.txt", "");
  const std::string empty_texts = write("e.jsonl", jsonl({"", ""}) + "\n");
  const std::string msg = error_message<Error>([&] { data::load_corpus({empty_txt, empty_texts}); });
  EXPECT_NE(msg.find("no documents found in"), std::string::npos) << msg;
  EXPECT_NE(msg.find(empty_txt), std::string::npos) << msg;
  EXPECT_NE(msg.find(empty_texts), std::string::npos) << msg;
  EXPECT_EQ(warnings.size(), 2u);

  warnings.clear();
  const data::Corpus c = data::load_corpus({empty_txt, write("ok.txt", "fine")});
  EXPECT_EQ(c.size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(empty_txt), std::string::npos);
  io::set_warning_sink([](const std::string& m) { std::cerr << "warning: " << m << "\n"; });
  EXPECT_THROW(data::load_corpus({}), Error);
}

TEST(DocumentsShared, ValidSplitMatchesLineCount) {
  const fs::path path = shared_dir() / "corpus" / "valid.jsonl.zst";
  BLT_REQUIRE_FIXTURE(path);
  // Independent count: decompress in one call and count lines.
  std::ifstream in(path, std::ios::binary);
  const std::string compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const unsigned long long raw_size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (raw_size == ZSTD_CONTENTSIZE_UNKNOWN || raw_size == ZSTD_CONTENTSIZE_ERROR)
    GTEST_SKIP() << "frame content size not recorded in " << path;
  std::string raw(raw_size, '\0');
  ASSERT_EQ(ZSTD_decompress(raw.data(), raw.size(), compressed.data(), compressed.size()), raw_size);
  const auto n_lines = std::count(raw.begin(), raw.end(), '\n');

  const data::Corpus c = data::load_corpus({path.string()});
  EXPECT_EQ(static_cast<int64_t>(c.size()), n_lines);
  EXPECT_LT(c.bytes.size(), raw.size());
  for (size_t i = 0; i < c.size(); ++i) {  // MANIFEST: valid UTF-8, ends with one '\n', no NUL
    ASSERT_FALSE(c.doc(i).empty());
    EXPECT_EQ(c.doc(i).back(), '\n');
  }
  EXPECT_TRUE(data::is_valid_utf8(c.bytes));
  EXPECT_EQ(c.bytes.find('\0'), std::string::npos);
}

}  // namespace
}  // namespace blt::test
