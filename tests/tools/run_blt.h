// Running the built `blt` binary (or another program, such as mpirun) from tests: posix_spawn with stdin from
// /dev/null, stdout and stderr captured through files in a scratch folder,
// the exit code (128 + signal when killed).
#pragma once

#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace blt::test {

struct Result {
  int rc = -1;
  std::string out, err;
  long max_rss_kb = 0;  // the child's peak resident set size (wait4's ru_maxrss), KiB: max(it, ours at spawn)
};

Result run_blt(const std::vector<std::string>& args, const std::filesystem::path& scratch);

// Like run_blt, but sends `sig` (SIGINT: Ctrl-C) once `ready()` (polled every `poll_us` microseconds
// while the process runs) turns true.
Result run_blt_interrupting(const std::vector<std::string>& args, const std::filesystem::path& scratch,
                            const std::function<bool()>& ready, int sig = SIGINT, int poll_us = 5000);

// The same for any program: argv[0] is looked up in PATH (mpirun, ...).
Result run_program(const std::vector<std::string>& argv, const std::filesystem::path& scratch);
Result run_program_interrupting(const std::vector<std::string>& argv, const std::filesystem::path& scratch,
                                const std::function<bool()>& ready, int sig = SIGINT, int poll_us = 5000);

inline bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

}  // namespace blt::test
