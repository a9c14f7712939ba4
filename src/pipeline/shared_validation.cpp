// Gathering the ranks' evaluation shares (as JSON: doubles round-trip exactly).
#include "pipeline/shared_validation.h"

#include <nlohmann/json.hpp>

namespace blt::pipeline {

eval::EvalShare rank_share(const dist::Communicator& comm) {
  return {comm.rank(), comm.size()};
}

eval::EvalResult gather_shares(const eval::EvalResult& mine, dist::Communicator& comm) {
  if (!comm.distributed()) return mine;
  const nlohmann::json j = {{"window_nll", mine.window_nll},
                            {"n_positions", mine.n_positions},
                            {"n_patches", mine.n_patches},
                            {"length_sum", mine.length_sum},
                            {"flops", mine.flops}};
  std::vector<eval::EvalResult> shares;
  for (const std::string& s : comm.all_gather(j.dump())) {
    const auto o = nlohmann::json::parse(s);
    eval::EvalResult r;
    o.at("window_nll").get_to(r.window_nll);
    o.at("n_positions").get_to(r.n_positions);
    o.at("n_patches").get_to(r.n_patches);
    o.at("length_sum").get_to(r.length_sum);
    o.at("flops").get_to(r.flops);
    shares.push_back(std::move(r));
  }
  return eval::merge_shares(shares);
}

eval::NllSum gather_shares(const eval::NllSum& mine, dist::Communicator& comm) {
  if (!comm.distributed()) return mine;
  const nlohmann::json j = {{"window_nll", mine.window_nll}, {"targets", mine.targets}};
  std::vector<std::vector<double>> per_rank;
  eval::NllSum all;
  for (const std::string& s : comm.all_gather(j.dump())) {
    const auto o = nlohmann::json::parse(s);
    per_rank.push_back(o.at("window_nll").get<std::vector<double>>());
    all.targets += o.at("targets").get<int64_t>();
  }
  all.window_nll = eval::in_window_order(per_rank);
  all.nll = eval::ordered_sum(all.window_nll);
  return all;
}

}  // namespace blt::pipeline
