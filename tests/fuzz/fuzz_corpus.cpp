// Fuzz target: a corpus file for data::DocumentReader and data::load_corpus. The
// first byte chooses the kind: .txt, .jsonl, .txt.zst or .jsonl.zst with the rest
// as the file's bytes (raw zstd frames for the .zst kinds), or .txt/.jsonl text
// compressed here into a valid .zst, so the streaming decompression and line
// splitting see meaningful content. Lines are bounded at 1 MiB (the reader's bound,
// smaller than its default to keep the fuzzer fast).
#include <zstd.h>

#include <cstdint>

#include "data/documents.h"
#include "fuzz_support.h"

namespace {

constexpr int64_t kMaxLine = int64_t{1} << 20;
constexpr int64_t kMaxDocs = 10000;

std::string compress(std::string_view text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 1);
  if (ZSTD_isError(n)) throw std::runtime_error("fuzz: ZSTD_compress failed");
  out.resize(n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  fuzz::silence_warnings();
  if (size == 0) return 0;
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  const char* ext[] = {".txt", ".jsonl", ".txt.zst", ".jsonl.zst", ".txt.zst", ".jsonl.zst"};
  const int mode = data[0] % 6;
  const std::string path = fuzz::put_file(std::string("corpus") + ext[mode], mode >= 4 ? compress(body) : body);
  // A few KB of zstd can hold millions of short lines: valid, but minutes of work under ASan, so
  // the reader stops after kMaxDocs documents and load_corpus runs only on inputs shorter than that.
  bool small = false;
  fuzz::expect_errors([&] {
    data::DocumentReader reader(path, kMaxLine);
    std::string doc;
    int64_t n = 0;
    while (n < kMaxDocs && reader.next(doc)) ++n;
    small = n < kMaxDocs;
  });
  if (small) fuzz::expect_errors([&] { (void)data::load_corpus({path}, kMaxLine); });
  return 0;
}
