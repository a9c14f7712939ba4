// JsonFields and JSON file reading.
#include "io/json_fields.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace blt::io {

namespace {
std::function<void(const std::string&)>& sink() {
  static std::function<void(const std::string&)> s = [](const std::string& m) {
    std::cerr << "warning: " << m << "\n";
  };
  return s;
}
}  // namespace

void set_warning_sink(std::function<void(const std::string&)> s) {
  if (!s) throw InternalError("set_warning_sink: empty sink");
  sink() = std::move(s);
}
void warn(const std::string& message) { sink()(message); }

namespace {
// Appends v to out, stopping once out holds more than `budget` characters; depth bounds the recursion.
void render(const nlohmann::json& v, int depth, size_t budget, std::string& out) {
  if (out.size() > budget) return;
  if (v.is_array() || v.is_object()) {
    const bool arr = v.is_array();
    if (v.empty()) {
      out += arr ? "[]" : "{}";
      return;
    }
    if (depth >= 2) {
      out += arr ? "[...]" : "{...}";
      return;
    }
    out += arr ? '[' : '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() > budget) break;
      if (!first) out += ',';
      first = false;
      if (!arr) out += nlohmann::json(it.key()).dump() + ':';
      render(*it, depth + 1, budget, out);
    }
    out += arr ? ']' : '}';
  } else {
    out += v.dump();  // a scalar: no recursion
  }
}
}  // namespace

std::string brief(const nlohmann::json& v, size_t max_chars) {
  std::string r;
  render(v, 0, max_chars, r);
  if (r.size() > max_chars) r = r.substr(0, max_chars) + "...";
  return std::string(v.type_name()) + " " + r;
}

JsonFields::JsonFields(const nlohmann::json& obj, std::string where) : obj_(obj), where_(std::move(where)) {
  if (!obj_.is_object()) throw ConfigError(where_ + ": expected a JSON object, got " + obj_.type_name());
}

const nlohmann::json& JsonFields::object(const char* name) {
  auto it = find(name);
  if (it == obj_.end() || it->is_null()) throw ConfigError(where_ + ": missing required field '" + name + "'");
  if (!it->is_object()) type_error(name, "an object", *it);
  return *it;
}

void JsonFields::finish() const {
  for (auto it = obj_.begin(); it != obj_.end(); ++it)
    if (!seen_.count(it.key())) warn(where_ + ": unknown field '" + it.key() + "' ignored");
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read error");
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for numbers such as 1e400 ("number overflow").
    throw FormatError(path + ": invalid JSON: " + e.what());
  }
}

}  // namespace blt::io
