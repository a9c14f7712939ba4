// Fuzz target: a precomputed entropies file for `blt patch --entropies`. The
// first byte chooses the format (.f32 float32, JSON array, .jsonl lines), the
// rest is the file's content; read_entropy_file's extension dispatch is run too.
#include <cstdint>

#include "fuzz_support.h"
#include "patching/entropy_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  if (size == 0) return 0;
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  const char* ext[] = {".f32", ".json", ".jsonl"};
  const int mode = data[0] % 3;
  fuzz::expect_errors([&] {
    if (mode == 0) (void)patching::parse_entropy_f32(body, "fuzz.f32");
    if (mode == 1) (void)patching::parse_entropy_json(body, "fuzz.json");
    if (mode == 2) (void)patching::parse_entropy_jsonl(body, "fuzz.jsonl");
  });
  const std::string path = fuzz::put_file(std::string("entropies") + ext[mode], body);
  fuzz::expect_errors([&] { (void)patching::read_entropy_file(path); });
  return 0;
}
