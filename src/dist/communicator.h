// Communicator: the processes that train one model together (data
// parallelism). Under mpirun (Open MPI) it is MPI_COMM_WORLD; otherwise, or
// in a build without MPI, it is this one process and every call is local.
// Only the main thread calls it (MPI_THREAD_FUNNELED); collective calls must
// be made by every rank in the same order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace blt::dist {

// A failed check that every rank makes at the same point with the same outcome (the job's ranks
// disagree): rank 0 reports it, and every rank exits 1 without aborting the others.
struct JobError : ConfigError {
  using ConfigError::ConfigError;
};

class Communicator {
 public:
  // The world: MPI is initialised on the first call when the process was started by mpirun (its
  // environment says so) and the build has MPI; else a single process.
  static Communicator& world();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }

  void barrier();
  // Point to point, for the ordered gradient sum: send() starts sending buf (which must stay untouched
  // until wait_send()); recv() blocks until buf (of the same length) arrived from rank `from`.
  void send(std::span<const float> buf, int to);
  void wait_send();
  void recv(std::span<float> buf, int from);
  // buf on every rank = buf of rank `root`.
  void broadcast(std::span<float> buf, int root);
  void broadcast(std::string& s, int root);
  // Every rank's `mine`, by rank.
  std::vector<std::string> all_gather(const std::string& mine);
  // all (size() × mine.size()) = every rank's values, concatenated by rank (each rank gives the same count).
  void all_gather(std::span<const double> mine, std::span<double> all);
  // True on every rank when `mine` is true on any.
  bool any(bool mine);
  // Ends every process of the job with `code` (after an error on this rank: the others may be waiting).
  [[noreturn]] void abort(int code);
  // MPI_Finalize (at the end of main; a no-op for a single process).
  void finalize();

 private:
  Communicator();
  int rank_ = 0, size_ = 1;
  bool mpi_ = false, finalized_ = false;
  void* pending_ = nullptr;  // the MPI_Request of send() (MPI builds, under mpirun), allocated once
};

// Was this process started by mpirun (Open MPI, or a PMI launcher)?
bool launched_by_mpirun();

}  // namespace blt::dist
