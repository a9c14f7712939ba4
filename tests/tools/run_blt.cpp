// run_blt / run_program: posix_spawn of the blt binary (or another program) with captured output (and an
// optional Ctrl-C).
#include "tools/run_blt.h"

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>

#include "io/temp_dir.h"

extern char** environ;

namespace blt::test {

namespace {
// Spawns argv[0] (looked up in PATH) with argv; returns its pid (or -1 with the reason in `err`).
pid_t spawn(std::vector<std::string> all, const std::string& out_path, const std::string& err_path,
            std::string& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int e = posix_spawnp(&pid, all[0].c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) {
    err = std::string("posix_spawn failed: ") + std::strerror(e);
    return -1;
  }
  return pid;
}

Result finish(int status, const std::string& out_path, const std::string& err_path) {
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_raw(out_path);
  r.err = read_raw(err_path);
  return r;
}
}  // namespace

Result run_blt(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
  return run_blt_interrupting(args, scratch, [] { return false; });
}

Result run_blt_interrupting(const std::vector<std::string>& args, const std::filesystem::path& scratch,
                            const std::function<bool()>& ready, int sig, int poll_us) {
  std::vector<std::string> all = {BLT_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  return run_program_interrupting(all, scratch, ready, sig, poll_us);
}

Result run_program(const std::vector<std::string>& argv, const std::filesystem::path& scratch) {
  return run_program_interrupting(argv, scratch, [] { return false; });
}

Result run_program_interrupting(const std::vector<std::string>& argv, const std::filesystem::path& scratch,
                                const std::function<bool()>& ready, int sig, int poll_us) {
  const std::string out_path = (scratch / "stdout").string(), err_path = (scratch / "stderr").string();
  Result r;
  // posix_spawn's child starts in this process's memory, and exec records that memory's peak RSS as the
  // child's ru_maxrss: give free heap back and reset our peak to our current RSS (Linux clear_refs 5), so
  // the child's figure is its own (or our few MB, whichever is larger).
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
  const pid_t pid = spawn(argv, out_path, err_path, r.err);
  if (pid < 0) return r;
  int status = 0;
  bool signalled = false;
  while (true) {
    struct rusage usage {};
    const pid_t done = wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) {
      r.max_rss_kb = usage.ru_maxrss;
      break;
    }
    if (done < 0 && errno != EINTR) break;
    if (!signalled && ready()) {
      kill(pid, sig);
      signalled = true;
    }
    usleep(static_cast<useconds_t>(poll_us));
  }
  Result done = finish(status, out_path, err_path);
  done.max_rss_kb = r.max_rss_kb;
  return done;
}

}  // namespace blt::test
