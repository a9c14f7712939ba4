// The data-parallel job around a training command under mpirun: every rank
// runs the same command line; these checks make a job whose ranks could not
// train one model fail at the start, with the reason, on every rank.
#pragma once

#include <string>

namespace blt::cli {

// Collective (every rank calls it, once everything is validated and before anything is written):
// every rank runs the same blt binary (version and a hash of the executable) and sees rank 0's --out
// (rank 0 writes a token file there that the others must read: a folder every host shares). dist::JobError
// on every rank otherwise. A single process passes at once.
void check_job(const std::string& out);

// Is this the rank that writes files and prints progress (rank 0, or the only process)?
bool is_writer();

}  // namespace blt::cli
