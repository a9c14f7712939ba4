// Request parsing: JSON bodies into typed requests, every field checked.
#include "serve/request.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace blt::serve {

namespace {
using nlohmann::json;

json parse_body(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    throw RequestError(400, "", std::string("the body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw RequestError(400, "", "the body must be a JSON object");
  return j;
}

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw RequestError(400, field, "`" + field + "` " + what);
}

// A string or a list of strings -> the strings (`allow_empty_list`: [] is allowed).
std::vector<std::string> strings(const json& v, const std::string& field, bool allow_empty_list) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) bad(field, "must be a string or a list of strings");
  if (v.empty() && !allow_empty_list) bad(field, "must not be an empty list");
  std::vector<std::string> out;
  for (const json& s : v) {
    if (!s.is_string()) bad(field, "must be a string or a list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

// The value of an integer field in [lo, hi].
int64_t integer(const json& j, const std::string& field, int64_t lo, int64_t hi) {
  const json& v = j.at(field);
  if (!v.is_number_integer()) bad(field, "must be an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) bad(field, "is too large");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(field, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], not " +
                                       std::to_string(x));
  return x;
}

double number(const json& j, const std::string& field) {
  const json& v = j.at(field);
  if (!v.is_number()) bad(field, "must be a number");
  return v.get<double>();
}

bool boolean(const json& j, const std::string& field, const std::string& name) {
  const json& v = j.at(field);
  if (!v.is_boolean()) bad(name, "must be true or false");
  return v.get<bool>();
}

// The `blt` extension object: {"ids": bool, "patches": bool}.
void parse_blt(const json& v, CompletionRequest& r) {
  if (!v.is_object()) bad("blt", "must be an object {\"ids\": bool, \"patches\": bool}");
  r.blt = true;
  if (v.contains("ids")) r.blt_ids = boolean(v, "ids", "blt.ids");
  if (v.contains("patches")) r.blt_patches = boolean(v, "patches", "blt.patches");
}
}  // namespace

CompletionRequest parse_completion(std::string_view body, int64_t max_tokens_limit) {
  const json j = parse_body(body);
  CompletionRequest r;
  r.opt.max_bytes = std::min<int64_t>(128, max_tokens_limit);
  if (!j.contains("prompt")) bad("prompt", "is required");
  r.prompts = strings(j["prompt"], "prompt", false);
  if (j.contains("max_tokens")) r.opt.max_bytes = integer(j, "max_tokens", 0, max_tokens_limit);
  if (j.contains("temperature")) {
    r.opt.sampler.temperature = number(j, "temperature");
    if (!(r.opt.sampler.temperature >= 0 && r.opt.sampler.temperature <= 100)) bad("temperature", "must be in [0, 100]");
  }
  if (j.contains("top_p")) {
    r.opt.sampler.top_p = number(j, "top_p");
    if (!(r.opt.sampler.top_p > 0 && r.opt.sampler.top_p <= 1)) bad("top_p", "must be in (0, 1]");
  }
  if (j.contains("top_k")) r.opt.sampler.top_k = integer(j, "top_k", 0, INT32_MAX);
  if (j.contains("seed")) r.opt.sampler.seed = static_cast<uint64_t>(integer(j, "seed", 0, INT64_MAX));
  if (j.contains("stop") && !j["stop"].is_null()) r.opt.stop = strings(j["stop"], "stop", true);
  if (j.contains("stream") && !j["stream"].is_null()) r.stream = boolean(j, "stream", "stream");
  if (j.contains("blt") && !j["blt"].is_null()) parse_blt(j["blt"], r);
  return r;
}

std::string parse_text(std::string_view body) {
  const json j = parse_body(body);
  if (!j.contains("text")) bad("text", "is required");
  if (!j["text"].is_string()) bad("text", "must be a string");
  return j["text"].get<std::string>();
}

}  // namespace blt::serve
