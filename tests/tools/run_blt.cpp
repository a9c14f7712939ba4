// run_blt: posix_spawn of the blt binary with captured output.
#include "tools/run_blt.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "io/temp_dir.h"

extern char** environ;

namespace blt::test {

Result run_blt(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
  const std::string out_path = (scratch / "stdout").string(), err_path = (scratch / "stderr").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> all = {BLT_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int e = posix_spawn(&pid, BLT_BINARY, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  Result r;
  if (e != 0) {
    r.err = std::string("posix_spawn failed: ") + std::strerror(e);
    return r;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_raw(out_path);
  r.err = read_raw(err_path);
  return r;
}

}  // namespace blt::test
