// HF tensor names, binding an HF model.safetensors to our registries, and loading it.
#include "modeldir/hf_weights.h"

#include <map>
#include <utility>

#include "modeldir/weights.h"
#include "nn/param_io.h"

namespace blt::modeldir {

namespace {

// Official name components and their HF names (a bijection: no name is on both sides).
const std::pair<const char*, const char*> kComponents[] = {{"attention", "self_attn"},
                                                           {"feed_forward", "mlp"},
                                                           {"attention_norm", "input_layernorm"},
                                                           {"ffn_norm", "post_attention_layernorm"},
                                                           {"tok_embeddings", "embed_tokens"},
                                                           {"cross_attn_norm_q", "q_norm"},
                                                           {"cross_attn_norm_kv", "k_norm"},
                                                           {"w1", "gate_proj"},
                                                           {"w2", "down_proj"},
                                                           {"w3", "up_proj"},
                                                           {"wq", "q_proj"},
                                                           {"wk", "k_proj"},
                                                           {"wv", "v_proj"},
                                                           {"wo", "o_proj"},
                                                           {"output", "lm_head"}};

std::string map_components(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    for (const auto& [official, hf] : kComponents)
      if (part == official) part = hf;
    out += part;
    if (dot == std::string::npos) return out;
    out += '.';
    start = dot + 1;
  }
}

std::vector<int64_t> dims(const Shape& s) {
  std::vector<int64_t> d;
  for (int i = 0; i < s.rank(); ++i) d.push_back(s[i]);
  return d;
}

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + ")";
}

bool is_float_dtype(const std::string& d) {
  return d == "F32" || d == "F64" || d == "BF16" || d == "F16";
}

// Every expected HF tensor present with its shape, and no unbound tensor in the registries' parts.
void check_bound(const io::SafetensorsFile& file, const std::map<std::string, std::vector<int64_t>>& expected,
                 bool blt, bool patcher) {
  std::string report;
  int missing = 0, wrong = 0, unexpected = 0;
  for (const auto& [name, shape] : expected) {
    if (!file.contains(name)) {
      report += "\n  missing: " + name + " " + dims_str(shape);
      ++missing;
    } else if (file.info(name).shape != shape) {
      report += "\n  wrong shape: " + name + " expected " + dims_str(shape) + ", found " +
                dims_str(file.info(name).shape);
      ++wrong;
    }
  }
  for (const std::string& name : file.names()) {
    const bool ours = name.rfind(kHfPatcherPrefix, 0) == 0 ? patcher : blt;
    if (ours && !expected.count(name)) {
      report += "\n  unexpected: " + name + " " + dims_str(file.info(name).shape);
      ++unexpected;
    }
  }
  if (missing || wrong || unexpected)
    throw FormatError(file.path() + ": weights do not match the model configuration (" +
                      std::to_string(missing) + " missing, " + std::to_string(unexpected) + " unexpected, " +
                      std::to_string(wrong) + " wrongly shaped; transformers BLT layout)" + report);
}

}  // namespace

int64_t hash_table_index(const std::string& n) {
  const std::string pre = "encoder_hash_tok_embedding.", suf = ".weight";
  if (n.size() <= pre.size() + suf.size() || n.rfind(pre, 0) != 0 ||
      n.compare(n.size() - suf.size(), suf.size(), suf) != 0)
    return -1;
  const std::string mid = n.substr(pre.size(), n.size() - pre.size() - suf.size());
  if (mid.size() > 6 || mid.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(mid);
}

std::string hf_blt_name(const std::string& official) {
  if (hash_table_index(official) >= 0) return kHfHashName;
  if (official == "local_decoder.output.weight") return "lm_head.weight";
  return "model." + map_components(official);
}

std::string hf_patcher_name(const std::string& official) {
  return kHfPatcherPrefix + map_components(official);
}

std::vector<HfBinding> bind_hf_weights(const io::SafetensorsFile& file, const nn::ParamRegistry* blt,
                                       const nn::ParamRegistry* patcher) {
  std::vector<HfBinding> out;
  std::map<std::string, std::vector<int64_t>> expected;  // HF name -> shape
  if (blt) {
    int64_t rows = 0, width = 0;
    bool tables = false;
    for (size_t i = 0; i < blt->params().size(); ++i) {
      const nn::ParamInfo& p = blt->params()[i];
      const int64_t t = hash_table_index(p.name);
      out.push_back({blt, static_cast<nn::ParamId>(i), hf_blt_name(p.name), t});
      if (t < 0) {
        expected[out.back().hf_name] = dims(p.shape);
        continue;
      }
      BLT_ASSERT(t == rows / std::max<int64_t>(p.shape[0], 1),
                 "hash tables declared out of order: " + p.name);
      rows += p.shape[0];
      width = p.shape[1];
      tables = true;
    }
    if (tables) expected[kHfHashName] = {rows, width};
  }
  if (patcher)
    for (size_t i = 0; i < patcher->params().size(); ++i) {
      const nn::ParamInfo& p = patcher->params()[i];
      out.push_back({patcher, static_cast<nn::ParamId>(i), hf_patcher_name(p.name), -1});
      expected[out.back().hf_name] = dims(p.shape);
    }
  check_bound(file, expected, blt != nullptr, patcher != nullptr);
  return out;
}

std::span<const std::byte> hf_bytes(const io::SafetensorsFile& file, const HfBinding& b) {
  const std::span<const std::byte> all = file.bytes(b.hf_name);
  if (b.table < 0) return all;
  const size_t n = static_cast<size_t>(b.reg->params()[b.id].shape.numel()) *
                   io::safetensors_dtype_size(file.info(b.hf_name).dtype);
  BLT_ASSERT((static_cast<size_t>(b.table) + 1) * n <= all.size(), "hash table " + std::to_string(b.table));
  return all.subspan(static_cast<size_t>(b.table) * n, n);
}

namespace {
// Reads one bound tensor into its parameter's value, converted to the value's dtype.
void read_bound(const io::SafetensorsFile& file, const HfBinding& b) {
  const TensorView dst = b.reg->value(b.id);
  if (b.table < 0) return file.read_into(b.hf_name, dst);
  const std::string& dtype = file.info(b.hf_name).dtype;
  if (!is_float_dtype(dtype))
    throw FormatError(file.path() + ": tensor '" + b.hf_name + "': dtype " + dtype +
                      " is not a float type (F32, F64, BF16, F16)");
  io::convert_float_bytes(dtype, hf_bytes(file, b), dst);
}
}  // namespace

void load_hf_weights(const io::SafetensorsFile& file, const nn::ParamRegistry* blt,
                     const nn::ParamRegistry* patcher) {
  for (const HfBinding& b : bind_hf_weights(file, blt, patcher)) read_bound(file, b);
}

bool hf_matrices_bf16(const io::SafetensorsFile& file, bool patcher) {
  for (const std::string& name : file.names())
    if ((name.rfind(kHfPatcherPrefix, 0) == 0) == patcher && !usable_as_stored(file.info(name))) return false;
  return true;
}

void map_hf_weights(const io::SafetensorsFile& file, nn::ParamRegistry* blt, nn::ParamRegistry* patcher) {
  const std::vector<HfBinding> bound = bind_hf_weights(file, blt, patcher);
  std::vector<TensorView> views;  // per binding
  for (const HfBinding& b : bound)
    views.push_back(nn::stored_view(b.reg->params()[b.id], file.info(b.hf_name).dtype, hf_bytes(file, b)));
  for (nn::ParamRegistry* reg : {blt, patcher}) {
    if (!reg) continue;
    std::vector<TensorView> own(reg->params().size());
    for (size_t i = 0; i < bound.size(); ++i)
      if (bound[i].reg == reg) own[static_cast<size_t>(bound[i].id)] = views[i];
    reg->allocate_as_stored(own, file.mapping());
  }
  for (size_t i = 0; i < bound.size(); ++i)
    if (!views[i].defined()) read_bound(file, bound[i]);
}

}  // namespace blt::modeldir
