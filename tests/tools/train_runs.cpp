// TrainFixture and the readers of a training output directory.
#include "tools/train_runs.h"

#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

namespace blt::test {

namespace fs = std::filesystem;

TrainFixture::TrainFixture() : config(tmp.file("tiny.json")), data(tmp.file("d.txt")) {
  write_raw(config, R"({
    "entropy_model": {"dim": 16, "n_layers": 1, "n_heads": 2, "max_seqlen": 32, "sliding_window": 32,
                      "attn_bias_type": "local_block_causal", "multiple_of": 16, "vocab_size": 260},
    "train": {"steps": 12, "batch": 2, "seq_len": 32, "lr": 0.003, "warmup": 2, "log_every": 1,
              "eval_every": 0, "save_every": 4, "keep": 2}
  })");
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "and the earth was without form, and void; " + std::to_string(i % 7) + " ";
  write_raw(data, text);
}

std::vector<std::string> TrainFixture::args(const std::string& out,
                                            const std::vector<std::string>& extra) const {
  std::vector<std::string> a = {"train-entropy", "--config", config, "--data", data, "--out", out};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::string tiny_blt_config(const std::string& patching_mode, const std::string& train) {
  return R"({
  "args": {"dim_global": 32, "n_layers_global": 1, "n_heads_global": 2,
           "dim_local_encoder": 16, "n_layers_local_encoder": 1, "n_heads_local_encoder": 2,
           "dim_local_decoder": 16, "n_layers_local_decoder": 1, "n_heads_local_decoder": 2,
           "multiple_of": 16, "max_seqlen": 64, "max_encoder_seq_length": 64, "local_attention_window_len": 16,
           "attn_bias_type": "block_causal", "encoder_hash_byte_group_size": [3, 4],
           "encoder_hash_byte_group_vocab": 64, "encoder_hash_byte_group_nb_functions": 1,
           "cross_attn_encoder": true, "cross_attn_decoder": true, "cross_attn_k": 2, "cross_attn_nheads": 2,
           "cross_attn_init_by_pooling": true, "downsampling_by_pooling": "max", "patching_mode": ")" +
         patching_mode + R"("},
  "train": )" + train + "\n}";
}

std::string latest_name(const std::string& out) {
  std::string s = read_raw((fs::path(out) / "checkpoints" / "latest").string());
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::vector<std::string> checkpoint_names(const std::string& out) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(out) / "checkpoints", ec))
    if (e.path().filename().string().rfind("step_", 0) == 0) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> temporaries_under(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(e.path().string());
  return found;
}

std::vector<double> logged_values(const std::string& out) {
  std::ifstream in(fs::path(out) / "metrics.jsonl");
  std::vector<double> values;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    for (const char* k : {"loss", "bpb", "flops_per_byte"}) values.push_back(j.at(k).get<double>());
  }
  return values;
}

std::string poison_first_tensor(const std::string& path) {
  std::string bytes = read_raw(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::ordered_json::parse(bytes.substr(8, n));
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(bytes.data() + 8 + n + info.at("data_offsets").at(0).get<size_t>(), &nan, 4);
    write_raw(path, bytes);
    return name;
  }
  return "";
}

}  // namespace blt::test
