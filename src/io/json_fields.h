// JsonFields: reads the fields of one JSON object into a config struct with
// errors that name the file/object and the field. A missing required field
// or a wrong type is a ConfigError; a field nobody read is reported through
// warn() when finish() runs ("unknown field").
#pragma once

#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <type_traits>

#include "core/error.h"

namespace blt::io {

// Where warnings go (default: "warning: ..." on stderr). Tests capture them.
void set_warning_sink(std::function<void(const std::string&)> sink);
void warn(const std::string& message);

class JsonFields {
 public:
  // `where` names the object in messages, e.g. "model/params.json: entropy_model".
  JsonFields(const nlohmann::json& obj, std::string where);
  JsonFields(nlohmann::json&&, std::string) = delete;  // it keeps a reference: no temporaries

  template <class T>
  void required(const char* name, T& out) {
    auto it = find(name);
    if (it == obj_.end() || it->is_null()) throw ConfigError(where_ + ": missing required field '" + name + "'");
    out = convert<T>(*it, name);
  }
  // Absent or null keeps the default already in `out`.
  template <class T>
  void optional(const char* name, T& out) {
    auto it = find(name);
    if (it != obj_.end() && !it->is_null()) out = convert<T>(*it, name);
  }
  // Absent or null gives nullopt.
  template <class T>
  void optional(const char* name, std::optional<T>& out) {
    auto it = find(name);
    if (it == obj_.end() || it->is_null())
      out.reset();
    else
      out = convert<T>(*it, name);
  }
  // A field of the reference format that this program does not use: read silently.
  void ignore(std::initializer_list<const char*> names) {
    for (const char* n : names) seen_.insert(n);
  }
  bool has(const char* name) const { return obj_.contains(name) && !obj_.at(name).is_null(); }
  const nlohmann::json& object(const char* name);  // a nested object field (required)
  const std::string& where() const { return where_; }
  // Warns once per field of the object that no call above has read.
  void finish() const;

 private:
  nlohmann::json::const_iterator find(const char* name) {
    seen_.insert(name);
    return obj_.find(name);
  }
  template <class T>
  T convert(const nlohmann::json& v, const char* name) const {
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) type_error(name, "a boolean", v);
      return v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) type_error(name, "an integer", v);
      // Range-check before converting: 3000000000 must not wrap into an int32.
      const bool fits = v.is_number_unsigned()
                            ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                            : (std::is_signed_v<T> && v.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                               v.get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<T>::max())) ||
                                  (!std::is_signed_v<T> && v.get<int64_t>() >= 0);
      if (!fits) type_error(name, "an integer in range", v);
      return v.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) type_error(name, "a number", v);
      return v.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) type_error(name, "a string", v);
      return v.get<std::string>();
    } else {
      try {
        return v.get<T>();
      } catch (const nlohmann::json::exception&) {
        type_error(name, "of the expected type", v);
      }
    }
  }
  [[noreturn]] void type_error(const char* name, const char* expected, const nlohmann::json& v) const {
    throw ConfigError(where_ + ": field '" + name + "' must be " + expected + ", got " + v.type_name() + " " +
                      v.dump());
  }

  const nlohmann::json& obj_;
  std::string where_;
  std::set<std::string> seen_;
};

// Parses a JSON file; errors name the path (IoError) or the path and position (FormatError).
nlohmann::json read_json_file(const std::string& path);

}  // namespace blt::io
