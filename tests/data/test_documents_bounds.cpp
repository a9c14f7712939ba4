// Corpus readers under hostile sizes: a .jsonl.zst of a few KiB that expands to one
// ~200 MB line is refused naming file and line, and the reader's peak memory stays far
// below the line (VmHWM of this process, its peak reset first through clear_refs);
// long .txt documents, long lines among short ones and a non-positive bound.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "data/documents.h"
#include "io/temp_dir.h"
#include "support/config_checks.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

// A .jsonl.zst holding `{"text": "` + n_mib MiB of 'a' (never closed: one endless line), compressed
// chunk by chunk so the test itself never holds the line.
void write_huge_line_zst(const std::string& path, int n_mib) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_NE(cctx, nullptr);
  std::ofstream out(path, std::ios::binary);
  std::string chunk(size_t{1} << 20, 'a');
  std::string buf(ZSTD_CStreamOutSize(), '\0');
  auto feed = [&](const std::string& in, ZSTD_EndDirective end) {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    for (bool done = false; !done;) {
      ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
      const size_t left = ZSTD_compressStream2(cctx, &ob, &ib, end);
      ASSERT_FALSE(ZSTD_isError(left)) << ZSTD_getErrorName(left);
      out.write(buf.data(), static_cast<std::streamsize>(ob.pos));
      done = end == ZSTD_e_end ? left == 0 : ib.pos == ib.size;
    }
  };
  feed("{\"text\": \"", ZSTD_e_continue);
  for (int i = 0; i < n_mib; ++i) feed(chunk, ZSTD_e_continue);
  feed("", ZSTD_e_end);
  ZSTD_freeCCtx(cctx);
}

// Peak resident set size of this process in bytes (VmHWM), or -1 when unreadable.
int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false when the kernel does not allow it.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}


class DocumentBounds : public ::testing::Test {
 protected:
  std::string path(const std::string& rel) const { return dir_.file(rel); }
  TempDir dir_;
};

TEST_F(DocumentBounds, HugeCompressedLineFailsFastInBoundedMemory) {
  const std::string zst = path("bomb.jsonl.zst");
  write_huge_line_zst(zst, 200);
  EXPECT_LT(fs::file_size(zst), 200u << 10);  // a small file ...
  const int64_t limit = int64_t{1} << 20;     // ... read with a 1 MiB bound
  const bool reset = reset_peak_rss();
  const int64_t before = peak_rss_bytes();
  ASSERT_GT(before, 0);
  const std::string msg = error_message<FormatError>([&] {
    data::DocumentReader r(zst, limit);
    std::string doc;
    r.next(doc);
  });
  const int64_t grew = peak_rss_bytes() - before;
  EXPECT_NE(msg.find(zst + ":1: line longer than 1048576 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--max-line-bytes"), std::string::npos) << msg;
  // Read whole, the 200 MB line raised the peak by >= 200 MB; bounded, by about the limit.
  EXPECT_LT(grew, int64_t{32} << 20) << "peak RSS grew by " << grew << " bytes (peak reset: " << reset << ")";
  // load_corpus passes the bound on.
  EXPECT_NE(error_message<FormatError>([&] { data::load_corpus({zst}, limit); }).find(zst + ":1:"),
            std::string::npos);
}

TEST_F(DocumentBounds, LongLineAmongShortOnesNamesItsLine) {
  const std::string jsonl = path("mixed.jsonl");
  std::ofstream(jsonl) << "{\"text\": \"short\"}\n\n{\"text\": \"" << std::string(300, 'x') << "\"}\n";
  data::DocumentReader r(jsonl, 100);
  std::string doc;
  ASSERT_TRUE(r.next(doc));
  EXPECT_EQ(doc, "short");
  const std::string msg = error_message<FormatError>([&] { r.next(doc); });
  EXPECT_NE(msg.find(jsonl + ":3: line longer than 100 bytes"), std::string::npos) << msg;
  // A line of exactly the bound passes.
  const std::string exact = path("exact.jsonl");
  std::ofstream(exact) << "{\"text\": \"" << std::string(100 - 12, 'y') << "\"}";  // 100 bytes, no newline
  data::DocumentReader e(exact, 100);
  ASSERT_TRUE(e.next(doc));
  EXPECT_EQ(doc.size(), 88u);
}

TEST_F(DocumentBounds, TxtDocumentIsBoundedToo) {
  const std::string txt = path("big.txt");
  std::ofstream(txt) << std::string(200000, 'z');
  const std::string msg = error_message<FormatError>([&] {
    data::DocumentReader r(txt, 100000);
    std::string doc;
    r.next(doc);
  });
  EXPECT_NE(msg.find(txt + ": document longer than 100000 bytes"), std::string::npos) << msg;
  data::DocumentReader ok(txt, 200000);
  std::string doc;
  ASSERT_TRUE(ok.next(doc));
  EXPECT_EQ(doc.size(), 200000u);
  EXPECT_EQ(data::kDefaultMaxLineBytes, int64_t{64} << 20);
  EXPECT_NE(error_message<ConfigError>([&] { data::DocumentReader r(txt, 0); }).find("max_line_bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace blt::test
