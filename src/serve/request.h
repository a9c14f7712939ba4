// Requests of the HTTP API, parsed and checked before any work starts. A
// known field with a wrong type or out of range is a RequestError naming the
// field (the server answers 400 with it as `param`); unknown fields are
// ignored, as the OpenAI API does.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "generate/generation.h"

namespace blt::serve {

// A request the server refuses: HTTP `status`, the field at fault (`param`, "" for the whole body).
struct RequestError : std::runtime_error {
  RequestError(int status, std::string param, const std::string& message)
      : std::runtime_error(message), status(status), param(std::move(param)) {}
  int status;
  std::string param;
};

// POST /v1/completions.
struct CompletionRequest {
  std::vector<std::string> prompts;  // `prompt`: a string or a list of strings (choice i samples with seed + i)
  gen::GenerateOptions opt;          // max_tokens (bytes), temperature, top_p, top_k, seed, stop
  bool stream = false;
  bool blt = false;                  // the `blt` extension object was given
  bool blt_ids = false, blt_patches = false;
};

// body (JSON) -> the request; RequestError naming the field. max_tokens (default min(128, limit)) must be
// <= max_tokens_limit.
CompletionRequest parse_completion(std::string_view body, int64_t max_tokens_limit);

// POST /v1/patch and /v1/eval: body {"text": "..."} -> the text; RequestError naming the field.
std::string parse_text(std::string_view body);

}  // namespace blt::serve
