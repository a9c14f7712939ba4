// Entropy file readers. The whole file is read at once (one value per
// position of a sequence small enough to patch and print); float32 values are
// assembled from their little-endian bytes so the reader does not depend on
// the host's byte order. JSON numbers are range-checked before narrowing.
#include "patching/entropy_file.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"
#include "io/json_fields.h"

namespace blt::patching {

namespace {

std::string format_value(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A JSON number -> finite float32, or FormatError naming `what` (e.g. "element 3").
float to_entropy(const nlohmann::json& v, const std::string& where, const std::string& what) {
  if (!v.is_number())
    throw FormatError(where + ": " + what + " is " + io::brief(v) + ", expected a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max()))
    throw FormatError(where + ": " + what + " is " + format_value(d) + ", not a finite float32");
  return static_cast<float>(d);
}

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e400
    const bool non_finite =
        text.find("NaN") != std::string_view::npos || text.find("Infinity") != std::string_view::npos;
    throw FormatError(
        where + ": invalid JSON: " + e.what() +
        (non_finite ? " (NaN and Infinity are not JSON numbers; entropies must be finite)" : ""));
  }
}

}  // namespace

std::vector<float> parse_entropy_f32(std::string_view bytes, const std::string& where) {
  if (bytes.size() % 4 != 0)
    throw FormatError(where + ": size " + std::to_string(bytes.size()) +
                      " bytes is not a multiple of 4 (.f32 holds little-endian float32 values)");
  std::vector<float> out(bytes.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t u = 0;
    for (int k = 3; k >= 0; --k)
      u = (u << 8) | static_cast<unsigned char>(bytes[4 * i + static_cast<size_t>(k)]);
    const float v = std::bit_cast<float>(u);
    if (!std::isfinite(v))
      throw FormatError(where + ": value " + std::to_string(i) + " is " + format_value(v) +
                        "; entropies must be finite");
    out[i] = v;
  }
  return out;
}

std::vector<float> parse_entropy_json(std::string_view text, const std::string& where) {
  const nlohmann::json j = parse_json(text, where);
  if (!j.is_array())
    throw FormatError(where + ": expected a JSON array of numbers (one entropy per position), got " +
                      std::string(j.type_name()));
  std::vector<float> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i)
    out.push_back(to_entropy(j[i], where, "element " + std::to_string(i)));
  return out;
}

std::vector<float> parse_entropy_jsonl(std::string_view text, const std::string& where) {
  std::vector<float> out;
  size_t line_no = 0;
  for (size_t p = 0; p < text.size();) {
    size_t e = text.find('\n', p);
    if (e == std::string_view::npos) e = text.size();
    const std::string_view line = text.substr(p, e - p);
    p = e + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string at = where + ":" + std::to_string(line_no);
    const nlohmann::json j = parse_json(line, at);
    if (!j.is_object() || !j.contains("entropy"))
      throw FormatError(at + ": expected an object {\"pos\": i, \"entropy\": h}, got " + io::brief(j));
    if (j.contains("pos")) {
      const nlohmann::json& pos = j.at("pos");
      if (!pos.is_number_integer() || pos.get<int64_t>() != static_cast<int64_t>(out.size()))
        throw FormatError(at + ": field 'pos' is " + io::brief(pos) + ", expected " + std::to_string(out.size()) +
                          " (one line per position, in order)");
    }
    out.push_back(to_entropy(j.at("entropy"), at, "field 'entropy'"));
  }
  return out;
}

std::vector<float> read_entropy_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw IoError(path + ": entropies file not found");
  const std::string bytes = io::read_file(path);
  if (bytes.empty())
    throw FormatError(path +
                      ": empty file; expected entropies (a JSON array of numbers, .jsonl or .f32 float32)");
  const std::string ext = std::filesystem::path(path).extension().string();
  std::vector<float> out = ext == ".f32"     ? parse_entropy_f32(bytes, path)
                           : ext == ".jsonl" ? parse_entropy_jsonl(bytes, path)
                                             : parse_entropy_json(bytes, path);
  if (out.empty()) throw FormatError(path + ": no entropies in the file");
  return out;
}

}  // namespace blt::patching
