// Running the built `blt` binary from tests: posix_spawn with stdin from
// /dev/null, stdout and stderr captured through files in a scratch folder,
// the exit code (128 + signal when killed).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace blt::test {

struct Result {
  int rc = -1;
  std::string out, err;
};

Result run_blt(const std::vector<std::string>& args, const std::filesystem::path& scratch);

// Like run_blt, but sends SIGINT once `ready()` (polled every 5 ms while the process runs) turns true.
Result run_blt_interrupting(const std::vector<std::string>& args, const std::filesystem::path& scratch,
                            const std::function<bool()>& ready);

inline bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

}  // namespace blt::test
