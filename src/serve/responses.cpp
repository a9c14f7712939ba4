// Response bodies and the UTF-8 rule.
#include "serve/responses.h"

namespace blt::serve {

namespace {
using nlohmann::json;

// Length of the valid UTF-8 character at s[i], 0 when none starts there (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t valid_at(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  if (n == 0 || i + n > s.size() || b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  return n;
}

json blt_json(const CompletionRequest& req, std::span<const int32_t> ids, std::span<const char> starts,
              std::span<const float> entropies, int64_t global_steps, const CompletionMeta& meta) {
  json b = {{"global_steps", global_steps}};
  if (req.blt_ids) b["ids"] = ids;
  if (req.blt_patches) {
    std::vector<int> s(starts.begin(), starts.end());
    b["patches"] = {{"starts", s}, {"entropies", entropies}, {"threshold", meta.threshold ? json(*meta.threshold) : json()}};
  }
  return b;
}

json header(const CompletionMeta& meta) {
  return {{"id", meta.id}, {"object", "text_completion"}, {"created", meta.created}, {"model", meta.model}};
}

json usage(int64_t prompt, int64_t completion) {
  return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}
}  // namespace

std::string valid_utf8(std::string_view bytes) {
  std::string out(bytes);
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = valid_at(bytes, i);
    if (n == 0) out[i++] = '?';
    else i += n;
  }
  return out;
}

std::string error_body(const std::string& message, const std::string& type, const std::string& param) {
  return dump({{"error", {{"message", valid_utf8(message)}, {"type", type}, {"param", param.empty() ? json() : json(param)}}}});
}

std::string finish_reason(const std::string& finish) { return finish == "eos" ? "stop" : finish; }

json completion_body(const CompletionRequest& req, const std::vector<gen::GenerationResult>& results,
                     const CompletionMeta& meta) {
  json j = header(meta);
  j["choices"] = json::array();
  int64_t prompt = 0, completion = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const gen::GenerationResult& r = results[i];
    json c = {{"index", i}, {"text", valid_utf8(r.text)}, {"finish_reason", finish_reason(r.finish)}, {"logprobs", nullptr}};
    if (req.blt) {
      c["blt"] = blt_json(req, r.ids, r.patch_starts, r.entropies, r.generated_global_steps, meta);
      c["blt"]["finish"] = r.finish;
      if (req.blt_patches) c["blt"]["patches"]["lengths"] = gen::generated_patch_lengths(r.patch_starts);
    }
    j["choices"].push_back(std::move(c));
    prompt += r.prompt_tokens;
    completion += static_cast<int64_t>(r.ids.size());
  }
  j["usage"] = usage(prompt, completion);
  return j;
}

json chunk_body(const CompletionRequest& req, const ChoiceEvent& e, const CompletionMeta& meta) {
  json j = header(meta);
  json c = {{"index", e.index}, {"text", valid_utf8(e.text)}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
  if (req.blt) c["blt"] = blt_json(req, e.ids, e.patch_starts, e.entropies, e.global_steps, meta);
  if (e.result) {
    c["finish_reason"] = finish_reason(e.result->finish);
    if (req.blt) c["blt"]["finish"] = e.result->finish;
    j["usage"] = usage(e.result->prompt_tokens, static_cast<int64_t>(e.result->ids.size()));
  }
  j["choices"] = json::array({std::move(c)});
  return j;
}

json cut_chunk_body(int64_t index, const std::string& reason, const CompletionMeta& meta) {
  json j = header(meta);
  j["choices"] = json::array({{{"index", index}, {"text", ""}, {"finish_reason", reason}, {"logprobs", nullptr}}});
  return j;
}

std::string dump(const nlohmann::json& j) { return j.dump(); }

}  // namespace blt::serve
