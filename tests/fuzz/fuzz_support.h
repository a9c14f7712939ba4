// Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.cpp): a private scratch
// directory for the readers that take paths, splitting one input into several
// files, and the rule of what counts as a finding. A parser may reject bad
// input only with blt's own errors (blt::Error and its IoError, FormatError,
// ConfigError, or ShapeError); anything else escaping a target (std::bad_alloc,
// std::length_error, an nlohmann exception, InternalError) aborts the run, as
// does a crash or a sanitizer report.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/json_fields.h"

namespace blt::fuzz {

// This process's scratch directory under $TMPDIR (fuzz.sh points it at /dev/shm), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  struct Dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("blt_fuzz_" + std::to_string(::getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

// Empties the scratch directory, so a file of an earlier input cannot stand in for a missing one.
inline void reset_scratch() {
  for (const auto& e : std::filesystem::directory_iterator(scratch_dir())) std::filesystem::remove_all(e.path());
}

// Writes `bytes` to scratch_dir()/name (parent folders created); returns the path.
inline std::string put_file(const std::string& name, std::string_view bytes) {
  const std::filesystem::path p = scratch_dir() / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p.string();
}

// One input holding several files: the parts between separators, at most `max_parts`
// (the last part keeps any further separators).
inline constexpr std::string_view kSeparator = "\n--blt-fuzz-part--\n";
inline std::vector<std::string_view> split_parts(std::string_view input, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = input.find(kSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + kSeparator.size());
  }
  parts.push_back(input);
  return parts;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `f`, accepting the errors a reader may give for bad input (see the file comment).
template <class F>
void expect_errors(F&& f) {
  try {
    f();
  } catch (const Error&) {
  } catch (const ShapeError&) {
  }
}

// Readers warn about unknown fields on stderr; the fuzzer would print millions of them.
inline void silence_warnings() {
  static const bool done = [] {
    io::set_warning_sink([](const std::string&) {});
    return true;
  }();
  (void)done;
}

// The input as JSON, or nullopt when it is not JSON (the `json` target fuzzes the parser itself).
inline std::optional<nlohmann::json> parse_json(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace blt::fuzz
