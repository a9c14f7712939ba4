// Fuzz target: the bodies `blt serve` parses before any work starts
// (serve::parse_completion for POST /v1/completions, serve::parse_text for
// /v1/patch and /v1/eval). A bad body may only be a serve::RequestError (the
// server's 4xx naming the field); anything else is a finding.
#include <cstdint>

#include "fuzz_support.h"
#include "serve/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blt;
  const std::string_view body = fuzz::as_text(data, size);
  try {
    const serve::CompletionRequest r = serve::parse_completion(body, 4096);
    if (r.opt.max_bytes > 4096) __builtin_trap();  // the limit is the parser's promise
  } catch (const serve::RequestError&) {
  }
  try {
    (void)serve::parse_text(body);
  } catch (const serve::RequestError&) {
  }
  return 0;
}
