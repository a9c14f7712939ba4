// Memory estimates of BLT and LM configurations and the check against the machine.
#include "modeldir/memory_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace blt::modeldir {

namespace {

constexpr double kActivationBytes = 4;  // compute is float32 whatever the weights' dtype
constexpr double kRopeBytesPerEntry =
    12;  // cos and sin, float32 and float64, per (position, head_dim / 2) x 2

// The configuration fields a transformer stack grows with (names differ between BLT and LM configs).
struct StackFields {
  std::string dim, layers, seqlen,
      name;  // e.g. "dim_global", "n_layers_global", "max_seqlen", "global transformer"
};

double d(int64_t v) {
  return static_cast<double>(v);
}

// Parameters (+ gradients in the same dtype and AdamW's two float32 moments when training), in bytes;
// weights used as stored are bf16.
double param_bytes(double n_params, DType dtype, const Workload& work) {
  const double per = work.as_stored ? 2 : d(static_cast<int64_t>(dtype_size(dtype)));
  return n_params * (work.training ? 2 * per + 8 : per);
}

std::string params_what(const std::string& of, const Workload& work) {
  return of + (work.training ? " parameters, gradients and AdamW moments" : " parameters");
}

// A stack (L layers of width D, FFN F): `extra_params` beside its blocks (embeddings), its RoPE table of
// max_seqlen x head_dim, and for B x positions activations L x (8·D + 3·F) floats per position (q, k, v,
// attention out, norms, residuals, the FFN's three F-wide tensors).
void add_stack(MemoryPlan& plan, const nn::TransformerArgs& t, const StackFields& f, double extra_params,
               DType dtype, const Workload& work, double positions) {
  const std::string size =
      f.dim + " " + std::to_string(t.dim) + ", " + f.layers + " " + std::to_string(t.n_layers);
  plan.add(size, params_what("the " + f.name + "'s", work),
           param_bytes(t.n_params() + extra_params, dtype, work));
  plan.add(f.seqlen + " " + std::to_string(t.max_seqlen), "the " + f.name + "'s RoPE tables",
           d(t.max_seqlen) * d(t.head_size()) * kRopeBytesPerEntry);
  if (work.seq_len > 0)
    plan.add(
        "batch " + std::to_string(work.batch) + ", seq_len " + std::to_string(work.seq_len) + ", " + size,
        "the " + f.name + "'s activations",
        d(work.batch) * positions * d(t.n_layers) * (8 * d(t.dim) + 3 * d(t.ffn_hidden())) *
            kActivationBytes);
}

}  // namespace

double MemoryPlan::total() const {
  double sum = 0;
  for (const MemoryItem& m : items) sum += m.bytes;
  return sum;
}

const MemoryItem& MemoryPlan::largest() const {
  BLT_ASSERT(!items.empty(), "an empty memory plan");
  return *std::max_element(items.begin(), items.end(),
                           [](const MemoryItem& a, const MemoryItem& b) { return a.bytes < b.bytes; });
}

MemoryPlan plan_memory(const model::BltArgs& a, DType dtype, const Workload& work) {
  MemoryPlan plan;
  const double bytes = d(work.seq_len), patches = std::ceil(bytes / std::max(1.0, a.patch_size));
  const double d_enc = d(a.encoder_dim_token_emb());
  add_stack(plan, a.encoder_args(),
            {"dim_local_encoder", "n_layers_local_encoder", "max_encoder_seq_length", "local encoder"},
            d(a.vocab_size) * d_enc, dtype, work, bytes);
  add_stack(plan, a.global_args(), {"dim_global", "n_layers_global", "max_seqlen", "global transformer"},
            d(a.global_dim_patch_emb()) * d(a.dim_global), dtype, work, patches);
  add_stack(plan, a.decoder_args(),
            {"dim_local_decoder", "n_layers_local_decoder", "max_encoder_seq_length", "local decoder"},
            d(a.vocab_size) * d(a.dim_local_decoder), dtype, work, bytes);
  if (!work.as_stored)  // as stored, the tables stay in the mapped file (see the header)
    plan.add("encoder_hash_byte_group_vocab " + std::to_string(a.encoder_hash_byte_group_vocab),
             params_what("the hash n-gram embeddings'", work),
             param_bytes(d(a.n_hash_tables()) * d(a.encoder_hash_byte_group_vocab) * d_enc, dtype, work));
  if (work.seq_len > 0)  // logits over the vocabulary (and their softmax gradient when training)
    plan.add("batch " + std::to_string(work.batch) + ", seq_len " + std::to_string(work.seq_len),
             "the logits",
             d(work.batch) * bytes * d(a.vocab_size) * kActivationBytes * (work.training ? 2 : 1));
  return plan;
}

MemoryPlan plan_memory(const lm::LMTransformerArgs& a, DType dtype, const Workload& work) {
  MemoryPlan plan;
  const double tokens = d(work.seq_len);
  add_stack(plan, a, {"dim", "n_layers", "max_seqlen", "transformer"}, 2 * d(a.vocab_size) * d(a.dim), dtype,
            work, tokens);
  if (work.seq_len > 0)
    plan.add("batch " + std::to_string(work.batch) + ", seq_len " + std::to_string(work.seq_len),
             "the logits",
             d(work.batch) * tokens * d(a.vocab_size) * kActivationBytes * (work.training ? 2 : 1));
  return plan;
}

double machine_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) throw InternalError("sysconf(_SC_PHYS_PAGES / _SC_PAGE_SIZE) failed");
  return static_cast<double>(pages) * static_cast<double>(page);
}

std::string format_bytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[u]);
  return buf;
}

void check_memory(const MemoryPlan& plan, const std::string& where, double available) {
  const double total = plan.total();
  if (total <= available) return;
  const MemoryItem& big = plan.largest();
  throw ConfigError(where + ": " + big.field + ": the model needs " + format_bytes(total) + ", " +
                    format_bytes(big.bytes) + " of it for " + big.what + "; this machine has " +
                    format_bytes(available));
}

}  // namespace blt::modeldir
