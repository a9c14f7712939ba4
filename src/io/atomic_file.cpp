// AtomicFile over POSIX open(O_EXCL)/write/fsync/rename. A write buffer of
// 64 KiB batches small writes; larger ones go straight to the descriptor.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"

namespace blt::io {

namespace {

constexpr size_t kBufferBytes = size_t{1} << 16;

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw IoError(path + ": " + what + ": " + std::strerror(err));
}

// "dir/.name.tmp-<pid>-<16 hex digits>" for target "dir/name".
std::string temp_name(const std::string& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<uint64_t>(::getpid()) << 32)};
  const std::filesystem::path p(path);
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, "%ld-%016llx", static_cast<long>(::getpid()),
                static_cast<unsigned long long>(rng()));
  const std::string name = "." + p.filename().string() + ".tmp-" + suffix;
  return (p.parent_path() / name).string();
}

// The directory holding `path`, "." for a bare file name.
std::string parent_dir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty() || std::filesystem::path(path_).filename().empty())
    throw IoError("'" + path_ + "': cannot write: not a file path");
  // O_EXCL: never reuse a file someone else created; retry on the rare name clash.
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    temp_path_ = temp_name(path_);
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) fail(path_, "cannot create temporary file " + temp_path_, errno);
  }
  if (fd_ < 0) fail(path_, "cannot create temporary file " + temp_path_, EEXIST);
  buf_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  BLT_ASSERT(!committed_ && fd_ >= 0, "AtomicFile::write after commit: " + path_);
  const char* p = static_cast<const char*>(data);
  if (buf_.size() + n <= kBufferBytes) {
    buf_.insert(buf_.end(), p, p + n);
    return;
  }
  flush();
  if (n < kBufferBytes)
    buf_.insert(buf_.end(), p, p + n);
  else
    write_all(p, n);
}

void AtomicFile::flush() {
  write_all(buf_.data(), buf_.size());
  buf_.clear();
}

void AtomicFile::write_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::write(fd_, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      fail(path_, "write error on temporary file " + temp_path_, errno);
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void AtomicFile::commit() {
  BLT_ASSERT(!committed_ && fd_ >= 0, "AtomicFile::commit called twice: " + path_);
  flush();
  if (::fsync(fd_) != 0) fail(path_, "fsync of temporary file " + temp_path_ + " failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(path_, "close of temporary file " + temp_path_ + " failed", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail(path_, "cannot rename " + temp_path_ + " over it", errno);
  committed_ = true;  // the temporary name is gone; the destructor must not unlink anything
  // Make the rename itself durable. Some file systems cannot fsync a directory (EINVAL): the data is safe
  // then.
  const std::string dir = parent_dir(path_);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail(path_, "cannot open directory " + dir + " to fsync it", errno);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0 && err != EINVAL && err != ENOTSUP) fail(path_, "fsync of directory " + dir + " failed", err);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

}  // namespace blt::io
