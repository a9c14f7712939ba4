// Validation shared by the ranks of a data-parallel job: each rank evaluates
// its share of the windows (eval::EvalShare), every rank gathers the others'
// per-window sums and adds them in window order, so each rank holds the
// figures one process evaluating everything computes, bit for bit. For a
// single process these are the plain evaluations.
#pragma once

#include "dist/communicator.h"
#include "eval/evaluate.h"
#include "eval/lm_bpb.h"

namespace blt::pipeline {

// This rank's share of an evaluation.
eval::EvalShare rank_share(const dist::Communicator& comm);

// The whole evaluation from every rank's share (collective).
eval::EvalResult gather_shares(const eval::EvalResult& mine, dist::Communicator& comm);
eval::NllSum gather_shares(const eval::NllSum& mine, dist::Communicator& comm);

}  // namespace blt::pipeline
