// The lane-vector attention backwards' per-thread dK and dV.
#include "ops/attention_kv_grads.h"

#include <vector>

#include "ops/attention_amx.h"
#include "ops/parallel.h"

namespace blt::ops::detail {

PrivateKv private_kv(const AttnDims& d, int n_threads) {
  static thread_local std::vector<float> buf;
  const int64_t per_thread = d.B * d.Hkv * 2 * amx::blocks_per_head(d);
  if (buf.size() < static_cast<size_t>(per_thread * n_threads)) buf.resize(per_thread * n_threads);
  return {buf.data(), per_thread};
}

void sum_private_kv(const AttnDims& d, const PrivateKv& kv, int n_acc, float* dk, float* dv, bool parallel) {
  const int64_t per_head = amx::blocks_per_head(d);
  parallel_for(d.B * d.Tk * d.Hkv, parallel, [&](int64_t row) {  // row = (b·Tk + t)·Hkv + g
    const int64_t b = row / (d.Tk * d.Hkv), t = row / d.Hkv % d.Tk, g = row % d.Hkv;
    const float* src = kv.acc + (b * d.Hkv + g) * 2 * per_head + t * d.Dh;
    float sk[amx::kMaxDh] = {}, sv[amx::kMaxDh] = {};  // threads outer, columns inner: the sums vectorise
    for (int i = 0; i < n_acc; ++i)
      for (int64_t c = 0; c < d.Dh; ++c) {
        sk[c] += src[i * kv.per_thread + c];
        sv[c] += src[i * kv.per_thread + per_head + c];
      }
    for (int64_t c = 0; c < d.Dh; ++c) {
      if (dk) dk[row * d.Dh + c] += sk[c];
      if (dv) dv[row * d.Dh + c] += sv[c];
    }
  });
}

}  // namespace blt::ops::detail
