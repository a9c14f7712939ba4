// PatchSink (the `blt patch` report, written in pieces) and the streamed path:
// file chunks -> tokens -> EntropyComputer::push (entropies in order) ->
// IncrementalPatcher -> closed patches -> the sink. The tokens and entropies
// kept are those of the patch still open plus the entropy model's pending batch.
#include "tools/blt/patch_stream.h"

#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"
#include "data/tokenizer.h"
#include "lm/entropies.h"
#include "patching/incremental.h"
#include "tools/blt/patch_options.h"
#include "tools/blt/progress.h"

namespace blt::cli {

namespace {

std::string fmt(double v, const char* spec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

// The settings line(s) of the text report.
std::string text_header(const PatchHeader& h) {
  const patching::PatcherArgs& a = h.args;
  const bool entropy = is_entropy_mode(a);
  std::string out = "mode " + mode_name(a);
  if (entropy) out += "  threshold " + fmt(a.threshold, "%.9g");
  if (entropy && a.threshold_add) out += "  threshold_add " + fmt(*a.threshold_add, "%.9g");
  if (a.patching_mode == patching::PatchingMode::Static)
    out += "  patch_size " + std::to_string(a.static_patch_size());
  out += "  max_patch_length " +
         (a.max_patch_length ? std::to_string(*a.max_patch_length) : std::string("none"));
  out += std::string("  include_next_token ") + (h.include_next_token ? "on" : "off") + "\n";
  out += "sequence " + h.description + "\n";
  if (h.cal)
    out += "calibrated threshold " + fmt(h.cal->threshold, "%.9g") + " for a target mean of " +
           fmt(h.cal->target_mean, "%.6g") + ": achieved " + fmt(h.cal->achieved_mean, "%.4f") +
           (h.cal->clamped ? " (the target is out of reach; this is the nearest end)" : "") + "\n";
  return out;
}

// The JSON line's settings, as an object text without its closing brace.
std::string json_head(const PatchHeader& h) {
  const patching::PatcherArgs& a = h.args;
  const bool entropy = is_entropy_mode(a);
  nlohmann::json j = {{"threshold", entropy ? nlohmann::json(a.threshold) : nlohmann::json(nullptr)},
                      {"mode", mode_name(a)},
                      {"include_next_token", h.include_next_token}};
  if (entropy && a.threshold_add) j["threshold_add"] = *a.threshold_add;
  if (a.max_patch_length) j["max_patch_length"] = *a.max_patch_length;
  if (a.patching_mode == patching::PatchingMode::Static) j["patch_size"] = a.static_patch_size();
  if (h.cal)
    j["calibration"] = {{"target_mean", h.cal->target_mean},
                        {"achieved_mean", h.cal->achieved_mean},
                        {"clamped", h.cal->clamped}};
  std::string s = j.dump();
  s.pop_back();  // "}"
  return s;
}

}  // namespace

PatchSink::PatchSink(std::string format, PatchHeader header, PatchViewOptions view)
    : format_(std::move(format)), header_(std::move(header)), view_(view) {
  if (format_ == "jsonl") {
    lengths_ = std::tmpfile();
    if (!lengths_) throw IoError("cannot create a temporary file for the patch lengths");
    put(json_head(header_) + (header_.have_tokens ? ",\"patches\":[" : ""));
  } else {
    put(text_header(header_) + (header_.have_tokens ? "" : "lengths "));
  }
}

PatchSink::~PatchSink() {
  if (lengths_) std::fclose(lengths_);
}

void PatchSink::put(const std::string& s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) throw IoError("stdout: write failed");
}

void PatchSink::write(std::span<const int32_t> tokens, std::span<const int32_t> lengths,
                      std::span<const float> entropies, float entropy_before) {
  if (lengths.empty()) return;
  stats_.add(lengths);
  if (format_ == "jsonl") {
    if (std::fwrite(lengths.data(), sizeof(int32_t), lengths.size(), lengths_) != lengths.size())
      throw IoError("temporary file of the patch lengths: write failed");
    if (!header_.have_tokens) return;
    std::string out;
    for (const std::string& t : patch_texts(tokens, lengths))
      out += (first_ ? "" : ",") + nlohmann::json(t).dump(), first_ = false;
    put(out);
    return;
  }
  std::string out = first_ ? "" : header_.have_tokens ? patch_separator(view_.color) : " ";
  first_ = false;
  PatchViewOptions view = view_;
  view.entropy_before = entropy_before;
  out += header_.have_tokens ? render_patches(tokens, lengths, entropies, view) : format_lengths(lengths);
  put(out);
}

void PatchSink::finish() {
  const patching::PatchStats s = stats_.stats();
  if (format_ == "jsonl") {
    put(std::string(header_.have_tokens ? "]," : ",") + "\"patch_lengths\":[");
    std::rewind(lengths_);
    std::vector<int32_t> buf(1 << 16);
    bool first = true;
    for (size_t n; (n = std::fread(buf.data(), sizeof(int32_t), buf.size(), lengths_)) > 0;) {
      std::string out;
      for (size_t i = 0; i < n; ++i) out += (first ? "" : ",") + std::to_string(buf[i]), first = false;
      put(out);
    }
    if (std::ferror(lengths_)) throw IoError("temporary file of the patch lengths: read failed");
    put("],\"mean_patch_size\":" + nlohmann::json(s.mean).dump() + ",\"n_patches\":" +
        std::to_string(s.n_patches) + ",\"n_positions\":" + std::to_string(s.n_positions) + "}\n");
  } else {
    put("\n" + patching::format_patch_stats(s));
  }
  if (std::fflush(stdout) != 0) throw IoError("stdout: write failed");
}

namespace {

// Bytes per read: each read's tokens, entropies and report pieces (~30 bytes per byte) bound the memory.
constexpr size_t kReadBytes = size_t{1} << 16;

// The positions read but not yet written: the open patch's tokens and entropies, from position `start`.
struct Window {
  std::vector<int32_t> tokens;
  std::vector<float> entropies;
  float before = std::numeric_limits<float>::quiet_NaN();  // H[start-1]
};

// Writes the closed patches (all of them at the end) and drops their positions from `w`.
void flush_closed(patching::IncrementalPatcher& patcher, Window& w, bool last, bool include_next_token,
                  bool with_entropies, PatchSink& sink) {
  std::vector<int32_t> closed;
  patcher.take_closed(closed);
  if (last) {
    closed.insert(closed.end(), patcher.lengths().begin(), patcher.lengths().end());
    if (!include_next_token && !closed.empty() && --closed.back() == 0) closed.pop_back();  // no next token
  }
  const auto n = static_cast<size_t>(std::accumulate(closed.begin(), closed.end(), int64_t{0}));
  const size_t real = std::min(n, w.tokens.size());  // with the next token, the last patch passes the end
  sink.write({w.tokens.data(), real}, closed,
             with_entropies ? std::span<const float>(w.entropies.data(), real) : std::span<const float>{},
             w.before);
  if (with_entropies && real > 0) w.before = w.entropies[real - 1];
  w.tokens.erase(w.tokens.begin(), w.tokens.begin() + static_cast<std::ptrdiff_t>(real));
  if (with_entropies)
    w.entropies.erase(w.entropies.begin(), w.entropies.begin() + static_cast<std::ptrdiff_t>(real));
}

}  // namespace

void stream_patches(const std::string& file, bool eos, const lm::LMTransformer* model,
                    const patching::PatcherArgs& args, bool include_next_token, PatchSink& sink) {
  BLT_ASSERT(args.patching_mode != patching::PatchingMode::Bpe, "bpe patching is not streamed");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(file + ": cannot open for reading");
  const double total = static_cast<double>(std::filesystem::file_size(file)) + 1 + eos;
  patching::IncrementalPatcher patcher(args);
  std::optional<lm::EntropyComputer> ec;
  if (model) ec.emplace(*model, lm::EntropyOptions{});
  std::deque<int32_t> waiting;  // tokens given to the entropy model, their entropies not yet back
  Window w;
  double done = 0;
  auto push = [&](int32_t t, float h) {
    patcher.push(t, h);
    w.tokens.push_back(t);
    if (model) w.entropies.push_back(h);
    ++done;
  };
  auto on_entropies = [&](std::span<const float> h) {
    for (float v : h) {
      push(waiting.front(), v);
      waiting.pop_front();
    }
  };
  auto feed = [&](const std::vector<int32_t>& toks) {
    if (ec) {
      waiting.insert(waiting.end(), toks.begin(), toks.end());
      ec->push(toks, on_entropies);
    } else {
      for (int32_t t : toks) push(t, 0.f);
    }
  };
  ByteProgress progress("patch");
  std::vector<int32_t> toks{data::kBosId};
  std::vector<char> buf(kReadBytes);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i)
      toks.push_back(data::byte_to_id(static_cast<unsigned char>(buf[i])));
    feed(toks);
    toks.clear();
    flush_closed(patcher, w, false, include_next_token, model != nullptr, sink);
    progress.update(done, total);
  }
  if (in.bad()) throw IoError(file + ": read error");
  if (eos) toks.push_back(data::kEosId);
  feed(toks);
  if (ec) ec->finish(on_entropies);
  flush_closed(patcher, w, true, include_next_token, model != nullptr, sink);
  progress.finish();
}

}  // namespace blt::cli
