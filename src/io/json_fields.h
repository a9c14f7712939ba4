// JsonFields: reads the fields of one JSON object into a config struct with
// errors that name the file/object and the field. A missing required field
// or a wrong type is a ConfigError; a field nobody read is reported through
// warn() when finish() runs ("unknown field"). Integer fields (and the
// entries of integer arrays) must be exact JSON integers in the target's
// range: 3.5, 1e30 or 3e9 for an int32 is an error, never a truncation.
// Messages show an offending value through brief(), bounded in depth and
// length, so a hostile 10k-deep value cannot overflow the stack.
#pragma once

#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace blt::io {

// Where warnings go (default: "warning: ..." on stderr). Tests capture them.
void set_warning_sink(std::function<void(const std::string&)> sink);
void warn(const std::string& message);

// A bounded rendering of a JSON value for error messages: its type and at most
// `max_chars` characters of it, nested values below depth 2 shown as "...".
std::string brief(const nlohmann::json& v, size_t max_chars = 80);

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class U, class A>
struct is_vector<std::vector<U, A>> : std::true_type {};
}  // namespace detail

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
  T convert(const nlohmann::json& v, const char* name, int64_t index = -1) const {
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) type_error(name, "a boolean", v, index);
      return v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) type_error(name, "an exact integer", v, index);
      // Range-check before converting: 3000000000 must not wrap into an int32.
      const bool fits = v.is_number_unsigned()
                            ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                            : (std::is_signed_v<T> && v.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                               v.get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<T>::max())) ||
                                  (!std::is_signed_v<T> && v.get<int64_t>() >= 0);
      if (!fits) type_error(name, "an integer in range", v, index);
      return v.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) type_error(name, "a number", v, index);
      return v.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) type_error(name, "a string", v, index);
      return v.get<std::string>();
    } else if constexpr (detail::is_vector<T>::value && !std::is_same_v<typename T::value_type, bool>) {
      // Element by element with the scalar rules, so [3.5, 4] is an error for a vector<int>.
      if (!v.is_array()) type_error(name, "an array", v, index);
      T out;
      out.reserve(v.size());
      for (size_t i = 0; i < v.size(); ++i)
        out.push_back(convert<typename T::value_type>(v[i], name, static_cast<int64_t>(i)));
      return out;
    } else {
      try {
        return v.get<T>();
      } catch (const nlohmann::json::exception&) {
        type_error(name, "of the expected type", v, index);
      }
    }
  }
  // index >= 0: the offending value is that entry of an array field.
  [[noreturn]] void type_error(const char* name, const char* expected, const nlohmann::json& v,
                               int64_t index = -1) const {
    const std::string entry = index >= 0 ? " entry " + std::to_string(index) : "";
    throw ConfigError(where_ + ": field '" + name + "'" + entry + " must be " + expected + ", got " + brief(v));
  }

  const nlohmann::json& obj_;
  std::string where_;
  std::set<std::string> seen_;
};

// Parses a JSON file; errors name the path (IoError) or the path and position (FormatError),
// including numbers out of range such as 1e400.
nlohmann::json read_json_file(const std::string& path);

}  // namespace blt::io
