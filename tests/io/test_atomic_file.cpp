// AtomicFile / write_file_atomic: commit replaces the target, an abandoned
// writer leaves the old target and no temporary file; read_file and MappedFile:
// content, empty files, and errors naming the path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/file.h"
#include "temp_dir.h"

namespace blt::test {
namespace {

using io::AtomicFile;

TEST(AtomicFile, CommitCreatesNewFile) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  {
    AtomicFile f(path);
    f.write("hello ", 6);
    f.write(std::string_view("world"));
    EXPECT_FALSE(std::filesystem::exists(path));  // nothing visible before commit
    f.commit();
    EXPECT_TRUE(f.committed());
  }
  EXPECT_EQ(read_raw(path), "hello world");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, CommitReplacesContent) {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_raw(path, "old content that is longer");
  io::write_file_atomic(path, "new");
  EXPECT_EQ(read_raw(path), "new");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, TempFileSitsBesideTarget) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  AtomicFile f(path);
  const std::filesystem::path tmp(f.temp_path());
  EXPECT_EQ(tmp.parent_path(), dir.path());
  EXPECT_EQ(tmp.filename().string().rfind(".model.safetensors.tmp-" + std::to_string(::getpid()) + "-", 0),
            0u)
      << tmp;
  EXPECT_TRUE(std::filesystem::exists(tmp));
  AtomicFile g(path);  // two writers never share a temporary file
  EXPECT_NE(f.temp_path(), g.temp_path());
}

TEST(AtomicFile, DestroyedWithoutCommitLeavesTargetUntouched) {
  TempDir dir;
  const std::string path = dir.file("ckpt.bin");
  write_raw(path, "precious");
  {
    AtomicFile f(path);
    f.write("partial garbage", 15);
    f.write(std::string(200000, 'x'));  // beyond the buffer: really on disk in the temp file
  }
  EXPECT_EQ(read_raw(path), "precious");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"ckpt.bin"});
}

TEST(AtomicFile, ExceptionWhileWritingLeavesTargetUntouched) {
  TempDir dir;
  const std::string path = dir.file("ckpt.bin");
  write_raw(path, "precious");
  EXPECT_THROW(
      {
        AtomicFile f(path);
        f.write("half", 4);
        throw std::runtime_error("crash in the middle of a save");
      },
      std::runtime_error);
  EXPECT_EQ(read_raw(path), "precious");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"ckpt.bin"});
}

TEST(AtomicFile, LargeAndManySmallWrites) {
  TempDir dir;
  const std::string path = dir.file("big.bin");
  std::string expected;
  AtomicFile f(path);
  for (int i = 0; i < 5000; ++i) {  // small writes, batched
    const std::string piece = std::to_string(i) + ",";
    f.write(piece);
    expected += piece;
  }
  std::string big(3 << 20, '\0');  // one write larger than the buffer
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  f.write(big);
  expected += big;
  f.write("", 0);
  f.commit();
  EXPECT_EQ(io::read_file(path), expected);
}

TEST(AtomicFile, EmptyFile) {
  TempDir dir;
  const std::string path = dir.file("empty");
  io::write_file_atomic(path, "");
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST(AtomicFile, MissingDirectoryNamesPath) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/out.bin");
  try {
    io::write_file_atomic(path, "x");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, ParentIsAFileNamesPath) {
  TempDir dir;
  write_raw(dir.file("plain"), "x");
  const std::string path = dir.file("plain/out.bin");  // ENOTDIR, even for root
  try {
    io::write_file_atomic(path, "x");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, ReadOnlyDirectoryNamesPath) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: permission bits do not stop writes";
  TempDir dir;
  const std::filesystem::path ro = dir.path() / "ro";
  std::filesystem::create_directory(ro);
  std::filesystem::permissions(ro, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const std::string path = (ro / "out.bin").string();
  try {
    io::write_file_atomic(path, "x");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::permissions(ro, std::filesystem::perms::owner_all);
}

TEST(AtomicFile, TargetIsADirectoryFailsAtCommitAndCleansUp) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "sub");
  std::filesystem::create_directory(dir.path() / "sub" / "inner");  // non-empty: rename cannot replace it
  const std::string path = dir.file("sub");
  {
    AtomicFile f(path);
    f.write("x", 1);
    try {
      f.commit();
      FAIL() << "expected IoError";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"sub"});
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(FileIo, ReadFileReturnsBytes) {
  TempDir dir;
  const std::string bytes("a\0b\xff\n", 5);
  write_raw(dir.file("f"), bytes);
  EXPECT_EQ(io::read_file(dir.file("f")), bytes);
  write_raw(dir.file("empty"), "");
  EXPECT_EQ(io::read_file(dir.file("empty")), "");
}

TEST(FileIo, ReadFileErrorsNamePath) {
  TempDir dir;
  const std::string missing = dir.file("missing.json");
  try {
    io::read_file(missing);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::read_file(dir.path().string()), IoError);  // a directory
}

TEST(FileIo, MappedFileContent) {
  TempDir dir;
  const std::string bytes = "0123456789abcdef";
  write_raw(dir.file("f"), bytes);
  io::MappedFile m(dir.file("f"));
  ASSERT_EQ(m.size(), bytes.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.size()), bytes);
  EXPECT_EQ(m.path(), dir.file("f"));
  io::MappedFile moved = std::move(m);  // ownership moves, the mapping stays valid
  EXPECT_EQ(moved.size(), bytes.size());
  EXPECT_EQ(static_cast<char>(moved.data()[10]), 'a');
}

TEST(FileIo, MappedFileEmpty) {
  TempDir dir;
  write_raw(dir.file("empty"), "");
  io::MappedFile m(dir.file("empty"));
  EXPECT_EQ(m.size(), 0u);
}

TEST(FileIo, MappedFileErrorsNamePath) {
  TempDir dir;
  const std::string missing = dir.file("weights.safetensors");
  try {
    io::MappedFile m(missing);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  try {
    io::MappedFile m(dir.path().string());
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace blt::test
