// Communicator over Open MPI (BLT_WITH_MPI) or a single process.
#include "dist/communicator.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <numeric>

#include "core/error.h"

#ifdef BLT_WITH_MPI
#include <mpi.h>
#endif

namespace blt::dist {

bool launched_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

Communicator& Communicator::world() {
  static Communicator c;
  return c;
}

#ifdef BLT_WITH_MPI

namespace {
// MPI counts are int: a buffer over INT_MAX elements is an error, not a silent truncation.
int count(size_t n) {
  if (n > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw InternalError("MPI message of " + std::to_string(n) + " elements exceeds INT_MAX");
  return static_cast<int>(n);
}
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS)
    throw IoError(std::string("MPI: ") + what + " failed (error " + std::to_string(rc) + ")");
}
}  // namespace

Communicator::Communicator() {
  if (!launched_by_mpirun()) return;
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  mpi_ = true;
  pending_ = new MPI_Request(MPI_REQUEST_NULL);  // the one send in flight, reused (no allocation per send)
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

void Communicator::barrier() {
  if (mpi_) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void Communicator::send(std::span<const float> buf, int to) {
  if (!mpi_) throw InternalError("send() in a single process");
  wait_send();
  check(MPI_Isend(buf.data(), count(buf.size()), MPI_FLOAT, to, 0, MPI_COMM_WORLD,
                  static_cast<MPI_Request*>(pending_)),
        "MPI_Isend");
}

void Communicator::wait_send() {
  // MPI_Wait on MPI_REQUEST_NULL returns at once; a completed request becomes MPI_REQUEST_NULL again.
  if (pending_) check(MPI_Wait(static_cast<MPI_Request*>(pending_), MPI_STATUS_IGNORE), "MPI_Wait");
}

void Communicator::recv(std::span<float> buf, int from) {
  if (!mpi_) throw InternalError("recv() in a single process");
  check(MPI_Recv(buf.data(), count(buf.size()), MPI_FLOAT, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "MPI_Recv");
}

void Communicator::broadcast(std::span<float> buf, int root) {
  if (mpi_) check(MPI_Bcast(buf.data(), count(buf.size()), MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
}

void Communicator::broadcast(std::string& s, int root) {
  if (!mpi_) return;
  int64_t n = static_cast<int64_t>(s.size());
  check(MPI_Bcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  s.resize(static_cast<size_t>(n));
  check(MPI_Bcast(s.data(), count(s.size()), MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast");
}

std::vector<std::string> Communicator::all_gather(const std::string& mine) {
  if (!mpi_) return {mine};
  const int n = count(mine.size());
  std::vector<int> sizes(size_), offsets(size_);
  check(MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  std::exclusive_scan(sizes.begin(), sizes.end(), offsets.begin(), 0);
  std::string all(static_cast<size_t>(offsets.back() + sizes.back()), '\0');
  check(MPI_Allgatherv(mine.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR,
                       MPI_COMM_WORLD),
        "MPI_Allgatherv");
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) out.push_back(all.substr(offsets[r], sizes[r]));
  return out;
}

void Communicator::all_gather(std::span<const double> mine, std::span<double> all) {
  if (all.size() != mine.size() * static_cast<size_t>(size_))
    throw InternalError("all_gather: wrong output size");
  if (!mpi_) {
    std::copy(mine.begin(), mine.end(), all.begin());
    return;
  }
  check(MPI_Allgather(mine.data(), count(mine.size()), MPI_DOUBLE, all.data(), count(mine.size()), MPI_DOUBLE,
                      MPI_COMM_WORLD),
        "MPI_Allgather");
}

bool Communicator::any(bool mine) {
  if (!mpi_) return mine;
  int in = mine ? 1 : 0, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out != 0;
}

void Communicator::abort(int code) {
  if (mpi_ && !finalized_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

void Communicator::finalize() {
  if (!mpi_ || finalized_) return;
  wait_send();
  finalized_ = true;
  delete static_cast<MPI_Request*>(pending_);
  pending_ = nullptr;
  MPI_Finalize();
}

#else  // a build without MPI: one process

Communicator::Communicator() = default;
void Communicator::barrier() {}
void Communicator::send(std::span<const float>, int) {
  throw InternalError("send() in a single process");
}
void Communicator::wait_send() {}
void Communicator::recv(std::span<float>, int) {
  throw InternalError("recv() in a single process");
}
void Communicator::broadcast(std::span<float>, int) {}
void Communicator::broadcast(std::string&, int) {}
std::vector<std::string> Communicator::all_gather(const std::string& mine) {
  return {mine};
}
void Communicator::all_gather(std::span<const double> mine, std::span<double> all) {
  if (all.size() != mine.size()) throw InternalError("all_gather: wrong output size");
  std::copy(mine.begin(), mine.end(), all.begin());
}
bool Communicator::any(bool mine) {
  return mine;
}
void Communicator::abort(int code) {
  std::exit(code);
}
void Communicator::finalize() {}

#endif

}  // namespace blt::dist
