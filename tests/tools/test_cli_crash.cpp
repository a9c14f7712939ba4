// Crash safety of `blt train-entropy`, through the binary: SIGKILL at
// pseudo-random moments (a fixed seed), one of them while a checkpoint
// directory is being written, then --resume to the end reproduces the
// uninterrupted run's metrics and final weights exactly; and a full disk
// during a checkpoint (a small tmpfs; where mounting is not permitted,
// RLIMIT_FSIZE in the child, which the test reports) gives an error naming the
// file, keeps the previous checkpoint and leaves no temporary behind, while a
// full disk during a new run's first model write leaves nothing half set up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "tools/train_runs.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

int count_lines(const fs::path& p) {
  std::ifstream in(p);
  int n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

bool writing_a_checkpoint(const fs::path& out) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out / "checkpoints", ec))
    if (e.path().filename().string().rfind(".tmp-step_", 0) == 0) return true;
  return false;
}

TEST(CliCrash, KillNineAtRandomMomentsThenResumeReproducesTheUninterruptedRun) {
  TrainFixture f;
  // 3 does not divide 4: each resume restarts inside a metrics window.
  const std::vector<std::string> flags = {"--steps",      "36", "--log-every", "3",
                                          "--save-every", "4",  "--keep",      "2"};
  const std::string straight = f.out("straight"), cut = f.out("cut");
  ASSERT_EQ(f.run(f.args(straight, flags)).rc, 0);

  const fs::path metrics = fs::path(cut) / "metrics.jsonl", latest = fs::path(cut) / "checkpoints" / "latest";
  std::mt19937 rng(20261201);
  int kills = 0;
  std::vector<std::string> args = f.args(cut, flags);
  for (int moment = 0; moment < 4; ++moment) {
    const int lines_at_start = count_lines(metrics);
    const int lines_at_kill = lines_at_start + std::uniform_int_distribution<int>(1, 3)(rng);
    const bool during_checkpoint = moment == 1;
    const Result r = run_blt_interrupting(
        args, f.tmp.path(),
        [&] {
          if (!fs::exists(latest)) return false;  // a first checkpoint, so that there is something to resume
          return during_checkpoint ? writing_a_checkpoint(cut) : count_lines(metrics) >= lines_at_kill;
        },
        SIGKILL, 100);
    if (r.rc == 0) break;  // finished before the moment came
    ASSERT_EQ(r.rc, 128 + SIGKILL) << r.err;
    ++kills;
    std::cout << "[ killed at " << count_lines(metrics) << " metrics lines"
              << (writing_a_checkpoint(cut) ? ", inside a checkpoint write" : "") << " ]\n";
    args = {"train-entropy", "--out", cut, "--resume"};
  }
  EXPECT_GE(kills, 1) << "no kill landed: the test proved nothing";
  Result r = f.run(args);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(logged_values(cut), logged_values(straight)) << "metrics differ from the uninterrupted run";
  EXPECT_EQ(read_raw((fs::path(cut) / "model.safetensors").string()),
            read_raw((fs::path(straight) / "model.safetensors").string()))
      << "final weights differ from the uninterrupted run's";
  EXPECT_TRUE(temporaries_under(cut).empty());
}

// A place whose free space the test controls: a tmpfs filled up to `room` free bytes, or, where
// mounting is not permitted, a plain folder and RLIMIT_FSIZE = `room` in the child.
class SmallDisk {
 public:
  explicit SmallDisk(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    tmpfs_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=8m") == 0;
    std::cout << "[ full disk by " << (tmpfs_ ? "a tmpfs of 8 MiB" : "RLIMIT_FSIZE (mount not permitted)")
              << " ]\n";
  }
  ~SmallDisk() {
    if (tmpfs_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  const fs::path& dir() const { return dir_; }
  bool tmpfs() const { return tmpfs_; }

  // Runs blt with about `room` bytes left to write.
  Result run_with_room(const std::vector<std::string>& args, const fs::path& scratch, off_t room) {
    if (tmpfs_) {
      fill_to(room);
      Result r = run_blt(args, scratch);
      fs::remove(dir_ / "filler");
      return r;
    }
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit small = old;
    small.rlim_cur = static_cast<rlim_t>(room);
    auto* previous = std::signal(SIGXFSZ, SIG_IGN);  // inherited: the write fails with EFBIG instead
    ::setrlimit(RLIMIT_FSIZE, &small);
    Result r = run_blt(args, scratch);
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previous);
    return r;
  }

 private:
  void fill_to(off_t room) {
    struct statvfs s {};
    ASSERT_EQ(::statvfs(dir_.c_str(), &s), 0);
    const off_t free_bytes = static_cast<off_t>(s.f_bavail) * static_cast<off_t>(s.f_frsize);
    const int fd = ::open((dir_ / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(::posix_fallocate(fd, 0, (free_bytes - room) / 4096 * 4096), 0);
    ::close(fd);
  }

  fs::path dir_;
  bool tmpfs_ = false;
};

// Below the tiny model's 47 kB weight file, above everything else a step writes.
constexpr off_t kRoom = 24 * 1024;

TEST(CliCrash, AFullDiskDuringACheckpointKeepsThePreviousOne) {
  TrainFixture f;
  SmallDisk disk(f.tmp.path() / "disk");
  const std::string out = (disk.dir() / "out").string();
  ASSERT_EQ(f.run(f.args(out, {"--steps", "4", "--keep", "1"})).rc, 0);
  const fs::path good = fs::path(out) / "checkpoints" / "step_00000004";
  const std::string weights = read_raw((good / "model.safetensors").string());

  const Result r =
      disk.run_with_room({"train-entropy", "--out", out, "--resume", "--steps", "8"}, f.tmp.path(), kRoom);
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "error: ") && contains(r.err, "model.safetensors") &&
              contains(r.err, disk.tmpfs() ? "No space left on device" : "File too large"))
      << r.err;
  EXPECT_EQ(latest_name(out), "step_00000004");
  EXPECT_EQ(checkpoint_names(out), std::vector<std::string>{"step_00000004"});
  EXPECT_EQ(read_raw((good / "model.safetensors").string()), weights);
  EXPECT_TRUE(temporaries_under(out).empty()) << temporaries_under(out).front();
  // With room again the run resumes from the kept checkpoint and finishes.
  const Result again = f.run({"train-entropy", "--out", out, "--resume", "--steps", "8"});
  EXPECT_EQ(again.rc, 0) << again.err;
}

TEST(CliCrash, AFullDiskDuringTheFirstModelWriteLeavesNothingHalfSetUp) {
  TrainFixture f;
  SmallDisk disk(f.tmp.path() / "disk");
  const std::string out = (disk.dir() / "out").string();
  const Result r = disk.run_with_room(f.args(out, {"--steps", "4"}), f.tmp.path(), kRoom);
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "model.safetensors")) << r.err;
  for (const char* name : {"params.json", "model.safetensors", "run.json", "checkpoints"})
    EXPECT_FALSE(fs::exists(fs::path(out) / name)) << name << " left behind";
  EXPECT_TRUE(temporaries_under(out).empty());
  // The same command runs once there is room: nothing of the failed start is in the way.
  const Result again = f.run(f.args(out, {"--steps", "4"}));
  EXPECT_EQ(again.rc, 0) << again.err;
}

}  // namespace
}  // namespace blt::test
