// Start-of-job checks for data-parallel training (binary, shared --out).
#include "tools/blt/job.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/hash.h"
#include "dist/communicator.h"
#include "io/atomic_file.h"
#include "io/file.h"

namespace blt::cli {

namespace fs = std::filesystem;

namespace {

// "version <hash of /proc/self/exe>": equal for the same build of blt.
std::string binary_id() {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  uint64_t h = kFnvOffset;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) h = fnv1a(buf, static_cast<size_t>(in.gcount()), h);
  return std::string(BLT_VERSION) + " (build " + std::to_string(h) + ")";
}

// The ranks (other than 0) whose entry of `all` differs from rank 0's, as "1, 3".
std::string differing(const std::vector<std::string>& all) {
  std::string s;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) s += (s.empty() ? "" : ", ") + std::to_string(r);
  return s;
}

}  // namespace

bool is_writer() {
  return dist::Communicator::world().rank() == 0;
}

void check_job(const std::string& out) {
  dist::Communicator& comm = dist::Communicator::world();
  if (!comm.distributed()) return;
  const auto ids = comm.all_gather(binary_id());
  if (const std::string bad = differing(ids); !bad.empty())
    throw dist::JobError("rank(s) " + bad + " run a different blt binary than rank 0 (" + ids[0] +
                         "): install the same build on every host");
  // Rank 0 leaves a token with a fresh random value in --out; every rank must read that value there.
  std::string token = std::to_string(std::random_device{}()) + std::to_string(std::random_device{}());
  comm.broadcast(token, 0);
  const fs::path file = fs::path(out) / (".blt-job-" + token);
  bool created_out = false;
  if (comm.rank() == 0) {
    created_out = fs::create_directories(out);
    io::write_file_atomic(file.string(), token);
  }
  comm.barrier();
  std::string seen;
  if (fs::exists(file)) seen = io::read_file(file.string());
  const auto all = comm.all_gather(seen == token ? "ok" : "missing");
  comm.barrier();
  if (comm.rank() == 0) {
    std::error_code ec;
    fs::remove(file, ec);
    if (created_out && !differing(all).empty()) fs::remove(out, ec);
  }
  if (const std::string bad = differing(all); !bad.empty())
    throw dist::JobError("rank(s) " + bad + " cannot see --out " + out +
                         " as rank 0 writes it (its token file " + file.filename().string() +
                         " is missing there): --out must be a folder every host shares");
}

}  // namespace blt::cli
