// Tensor names of the transformers BLT layout and loading its model.safetensors into our registries.
// Official name -> HF name, component by component (attention -> self_attn, feed_forward -> mlp,
// attention_norm -> input_layernorm, ffn_norm -> post_attention_layernorm, tok_embeddings ->
// embed_tokens, cross_attn_norm_q/kv -> q_norm/k_norm, w1/w2/w3 -> gate/down/up_proj, wq/wk/wv/wo ->
// q/k/v/o_proj, output -> lm_head) under "model."; local_decoder.output.weight is "lm_head.weight";
// the entropy model's tensors live under "model.patcher.". The hash tables
// encoder_hash_tok_embedding.{t}.weight ([V, D] each, t = function * n_group_sizes + group) are one
// fused [n_tables * V, D] tensor, "model.encoder_hash_tok_embedding.weight", table t at rows
// [t * V, (t + 1) * V): the port adds t * V to table t's hash ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "nn/params.h"

namespace blt::modeldir {

inline constexpr const char* kHfHashName = "model.encoder_hash_tok_embedding.weight";
inline constexpr const char* kHfPatcherPrefix = "model.patcher.";

// "local_encoder.layers.0.attention.wq.weight" -> "model.local_encoder.layers.0.self_attn.q_proj.weight";
// a hash table -> kHfHashName.
std::string hf_blt_name(const std::string& official);
// "layers.0.feed_forward.w1.weight" -> "model.patcher.layers.0.mlp.gate_proj.weight".
std::string hf_patcher_name(const std::string& official);
// The table index of "encoder_hash_tok_embedding.{t}.weight", else -1.
int64_t hash_table_index(const std::string& official);

// Where one registry parameter lives in an HF file.
struct HfBinding {
  const nn::ParamRegistry* reg;
  nn::ParamId id;
  std::string hf_name;
  int64_t table = -1;  // >= 0: rows [table * V, (table + 1) * V) of the fused hash tensor
};

// Binds every parameter of `blt` and of `patcher` (either may be null) to the HF file's tensors and
// checks names and shapes (the fused table against the tables' total); tensors of the file that belong
// to a given registry's part (the patcher's prefix, or everything else) but bind to nothing are
// unexpected. FormatError naming the file and listing every mismatch.
std::vector<HfBinding> bind_hf_weights(const io::SafetensorsFile& file, const nn::ParamRegistry* blt,
                                       const nn::ParamRegistry* patcher);

// The bound tensor's stored bytes (a table's slice of the fused tensor for hash tables).
std::span<const std::byte> hf_bytes(const io::SafetensorsFile& file, const HfBinding& b);

// Fills both registries from the file (bind_hf_weights first), converting to each registry's dtype.
void load_hf_weights(const io::SafetensorsFile& file, const nn::ParamRegistry* blt,
                     const nn::ParamRegistry* patcher);

// Weights used as stored (nn::map_params in this layout; inference registries, either may be null):
// bind_hf_weights, then each registry allocate_as_stored with the nn::stored_view of its tensors (a hash
// table: its row slice of the fused tensor, a view too), then the rest read in. No viewed page is read.
void map_hf_weights(const io::SafetensorsFile& file, nn::ParamRegistry* blt, nn::ParamRegistry* patcher);
// modeldir::matrices_bf16 over one part of the file: the patcher's tensors (kHfPatcherPrefix), or the BLT's.
bool hf_matrices_bf16(const io::SafetensorsFile& file, bool patcher);

}  // namespace blt::modeldir
