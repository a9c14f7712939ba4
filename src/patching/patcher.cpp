// Offline patchers. Each dynamic mode first lists a row's patch start ids the
// way the reference does (forced [0, 1], then the mode's starts) together
// with the id the reference pads shorter rows with; one shared routine then
// turns the padded start ids into lengths, applies the reference's checks,
// max_patch_length splitting, and the trailing-zero-column cut. Emulating the
// padding (rather than patching rows independently) keeps the batch quirks.
#include "patching/patcher.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace blt::patching {

namespace {

// The start ids of one row before batch padding, and the id the reference pads them with.
struct RowStarts {
  std::vector<int64_t> starts;
  int64_t pad = 0;
};

// Entry j of the entropy start mask over entropies[1:] (find_entropy_patch_start_ids); every mode's entry
// depends on the entropies only, never on other entries. Comparisons in float32 as the reference.
bool entropy_mask(const PatcherArgs& args, std::span<const float> h, int64_t j) {
  const float t = static_cast<float>(args.threshold);
  auto e = [&](int64_t i) { return h[static_cast<size_t>(i + 1)]; };
  // patch_start_mask_from_entropy_with_monotonicity. (For L == 1 the reference indexes an empty mask and
  // raises; we return the forced starts, which the incremental patcher needs.)
  if (args.monotonicity) return j == 0 || e(j) - e(j - 1) > t;
  // patch_start_mask_global_and_monotonicity: mask[0] stays set, and the `~mask[:, :-1]` term (the mask
  // before the update) clears only mask[1].
  if (args.threshold_add)
    return j == 0 || (j >= 2 && e(j) - e(j - 1) > static_cast<float>(*args.threshold_add) && e(j) > t);
  return e(j) > t;
}

// The forced starts [0, 1], keeping the buffer's capacity.
void forced_starts(std::vector<int64_t>& starts) {
  starts.clear();
  starts.push_back(0);
  starts.push_back(1);
}

// entropies (L) of one row -> starts [0, 1, j+2 for each j with mask[j]]; returns the padding id.
int64_t entropy_row_starts(const PatcherArgs& args, std::span<const float> h, bool include_next_token,
                           std::vector<int64_t>& starts) {
  int64_t n_mask = std::max<int64_t>(static_cast<int64_t>(h.size()) - 1, 0);  // entropies[:, 1:]
  if (!include_next_token && n_mask > 0) --n_mask;                            // patch_start_mask[:, :-1]
  forced_starts(starts);
  for (int64_t j = 0; j < n_mask; ++j)
    if (entropy_mask(args, h, j)) starts.push_back(j + 2);
  return n_mask + 2;  // trunc_seq_len, shifted by the two forced starts
}

// tokens (L) -> starts [0, 1, k for k in 2..L where token k-1 ends a patch]; padded with L+1.
int64_t space_row_starts(std::span<const int32_t> tok, std::vector<int64_t>& starts) {
  const int64_t n = static_cast<int64_t>(tok.size());
  forced_starts(starts);
  for (int64_t i = 1; i < n; ++i) {
    // Only the first delimiter of a run ends a patch (against the original flags); tokens < 4 always do.
    const bool end =
        (space_delimiter(tok[static_cast<size_t>(i)]) && !space_delimiter(tok[static_cast<size_t>(i - 1)])) ||
        tok[static_cast<size_t>(i)] < kByteOffset;
    if (end) starts.push_back(i + 1);
  }
  return n + 1;
}

// tokens (L) -> starts [0, 1, y+1 for each delimiter at y <= L-2]; padded with L.
int64_t bpe_row_starts(std::span<const int32_t> tok, int64_t row, std::vector<int64_t>& starts) {
  const int64_t n = static_cast<int64_t>(tok.size());
  forced_starts(starts);
  for (int64_t y = 0; y + 1 < n; ++y) {
    if (tok[static_cast<size_t>(y)] != kBpeDelimiterId) continue;
    if (y == 0)
      throw Error(
          "[patch_lengths] bpe mode: row " + std::to_string(row) +
          " has the BPE delimiter (id 3) at position 0; the start after it duplicates the forced start at "
          "token 1 and gives a zero-length patch (the reference fails an assertion here)");
    starts.push_back(y + 1);
  }
  return n;
}

// The dynamic modes' start ids of row `row` into `starts`; returns the id the reference pads them with.
int64_t row_starts(const PatcherArgs& args, std::span<const int32_t> tok, std::span<const float> h, int64_t row,
                   bool include_next_token, std::vector<int64_t>& starts) {
  if (args.patching_mode == PatchingMode::Entropy) return entropy_row_starts(args, h, include_next_token, starts);
  if (args.patching_mode == PatchingMode::Space) return space_row_starts(tok, starts);
  return bpe_row_starts(tok, row, starts);
}

std::string row_context(const PatcherArgs& args, bool include_next_token) {
  return to_string(args.patching_mode) +
         " mode, include_next_token=" + (include_next_token ? "true" : "false");
}

// Padded start ids -> lengths (patch_lengths_from_start_ids) with the reference's two assertions.
std::vector<std::vector<int32_t>> lengths_from_starts(const std::vector<RowStarts>& rows, int64_t n_total,
                                                      const PatcherArgs& args, bool include_next_token) {
  size_t n_cols = 0;
  for (const RowStarts& r : rows) n_cols = std::max(n_cols, r.starts.size());
  std::vector<std::vector<int32_t>> out(rows.size());
  for (size_t b = 0; b < rows.size(); ++b) {
    std::vector<int64_t> s = rows[b].starts;
    s.resize(n_cols, rows[b].pad);
    std::vector<int32_t>& len = out[b];
    len.resize(n_cols);
    bool seen_zero = false;
    for (size_t k = 0; k < n_cols; ++k) {
      const int64_t l = (k + 1 < n_cols ? s[k + 1] : n_total) - s[k];
      if (l < 0 || (l > 0 && seen_zero))
        throw Error("[patch_lengths] " + row_context(args, include_next_token) + ": row " +
                    std::to_string(b) + " gets " + (l < 0 ? "a negative" : "a zero-length inner") +
                    " patch length from the batch padding (the reference fails an assertion here)");
      seen_zero = seen_zero || l == 0;
      len[k] = static_cast<int32_t>(l);
    }
  }
  return out;
}

// Checks with clear messages for the batch-padding cases the reference cannot handle.
void check_padding(const std::vector<RowStarts>& rows, const PatcherArgs& args, bool include_next_token) {
  size_t most = 0;
  for (const RowStarts& r : rows) most = std::max(most, r.starts.size());
  for (size_t b = 0; b < rows.size(); ++b) {
    const size_t have = rows[b].starts.size();
    if (args.patching_mode == PatchingMode::Bpe && include_next_token && have + 2 <= most)
      throw Error(
          "[patch_lengths] bpe mode, include_next_token=true: row " + std::to_string(b) + " has " +
          std::to_string(have) + " patch starts but another row has " + std::to_string(most) +
          "; the reference pads with L and fails an assertion when rows differ by two or more patches");
    if (args.patching_mode == PatchingMode::Space && !include_next_token && have < most)
      throw Error("[patch_lengths] space mode, include_next_token=false: row " + std::to_string(b) + " has " +
                  std::to_string(have) + " patch starts but another row has " + std::to_string(most) +
                  "; the reference pads with L+1, which only works with include_next_token=true "
                  "(patch the rows one at a time instead)");
  }
}

}  // namespace

bool space_delimiter(int32_t token) {
  const int32_t b = token - kByteOffset;
  return b < '0' || ('9' < b && b < 'A') || ('Z' < b && b < 'a') || ('z' < b && b < 0x80) || b >= 0xC0;
}

std::vector<int32_t> split_long_patches(std::span<const int32_t> lengths, int64_t max_patch_length) {
  std::vector<int32_t> out;
  split_long_patches(lengths, max_patch_length, out);
  return out;
}

void split_long_patches(std::span<const int32_t> lengths, int64_t max_patch_length, std::vector<int32_t>& out) {
  if (max_patch_length < 1)
    throw ConfigError("field 'max_patch_length' must be at least 1, got " + std::to_string(max_patch_length));
  const int32_t m = static_cast<int32_t>(std::min<int64_t>(max_patch_length, INT32_MAX));
  out.clear();
  for (int32_t l : lengths) {
    while (l > m) {
      out.push_back(m);
      l -= m;
    }
    out.push_back(l);
  }
}

std::vector<std::vector<int32_t>> patch_lengths_batch(const PatcherArgs& args,
                                                      std::span<const int32_t> tokens,
                                                      std::span<const float> entropies, int64_t n_rows,
                                                      bool include_next_token) {
  args.validate("[patch_lengths] patcher args");
  if (n_rows < 1)
    throw ShapeError("[patch_lengths] n_rows " + std::to_string(n_rows) + " must be at least 1");
  const int64_t n_tok = static_cast<int64_t>(tokens.size());
  if (n_tok % n_rows != 0)
    throw ShapeError("[patch_lengths] tokens (" + std::to_string(n_tok) + ") is not " +
                     std::to_string(n_rows) + " rows");
  const int64_t seq_len = n_tok / n_rows;
  if (seq_len == 0)
    throw ShapeError("[patch_lengths] tokens (" + std::to_string(n_rows) +
                     ",0): a row needs at least one token");
  const bool entropy_mode = args.patching_mode == PatchingMode::Entropy;
  if (entropy_mode ? entropies.size() != tokens.size()
                   : !entropies.empty() && entropies.size() != tokens.size())
    throw ShapeError("[patch_lengths] entropies (" + std::to_string(entropies.size()) + ") vs tokens (" +
                     std::to_string(n_rows) + "," + std::to_string(seq_len) + ")" +
                     (entropy_mode ? ": entropy mode needs one entropy per token" : ""));
  const int64_t n_total = seq_len + (include_next_token ? 1 : 0);  // seq_len_next_tok

  std::vector<std::vector<int32_t>> rows(static_cast<size_t>(n_rows));
  auto row_tokens = [&](int64_t b) {
    return tokens.subspan(static_cast<size_t>(b * seq_len), static_cast<size_t>(seq_len));
  };
  switch (args.patching_mode) {
    case PatchingMode::Static: {
      const int64_t ps = args.static_patch_size();
      std::vector<int32_t> row(static_cast<size_t>(n_total / ps), static_cast<int32_t>(ps));
      if (n_total % ps != 0) row.push_back(static_cast<int32_t>(n_total % ps));
      std::fill(rows.begin(), rows.end(), row);
      break;
    }
    case PatchingMode::Byte:
      std::fill(rows.begin(), rows.end(), std::vector<int32_t>(static_cast<size_t>(n_total), 1));
      break;
    case PatchingMode::Entropy:
    case PatchingMode::Space:
    case PatchingMode::Bpe: {
      std::vector<RowStarts> starts(static_cast<size_t>(n_rows));
      for (int64_t b = 0; b < n_rows; ++b) {
        RowStarts& r = starts[static_cast<size_t>(b)];
        const auto h = entropy_mode ? entropies.subspan(static_cast<size_t>(b * seq_len), static_cast<size_t>(seq_len))
                                    : std::span<const float>{};
        r.pad = row_starts(args, row_tokens(b), h, b, include_next_token, r.starts);
      }
      check_padding(starts, args, include_next_token);
      rows = lengths_from_starts(starts, n_total, args, include_next_token);
      break;
    }
  }

  if (args.max_patch_length)
    for (auto& row : rows) row = split_long_patches(row, *args.max_patch_length);
  // Right-pad with 0, then cut the trailing columns that are zero in every row.
  size_t n_cols = 0;
  for (const auto& row : rows) {
    size_t used = row.size();
    while (used > 0 && row[used - 1] == 0) --used;
    n_cols = std::max(n_cols, used);
  }
  for (auto& row : rows) row.resize(n_cols, 0);
  for (size_t b = 0; b < rows.size(); ++b) {
    int64_t sum = 0;
    for (int32_t l : rows[b]) sum += l;
    if (sum != n_total)
      throw Error("[patch_lengths] " + row_context(args, include_next_token) + ": row " + std::to_string(b) +
                  " lengths sum to " + std::to_string(sum) + ", expected " + std::to_string(n_total) +
                  " (the reference fails an assertion here)");
  }
  return rows;
}

std::vector<int32_t> patch_lengths(const PatcherArgs& args, std::span<const int32_t> tokens,
                                   std::span<const float> entropies, bool include_next_token) {
  args.validate("[patch_lengths] patcher args");
  std::vector<int32_t> out;
  PatchScratch scratch;
  patch_lengths(args, tokens, entropies, include_next_token, out, scratch);
  return out;
}

void patch_lengths(const PatcherArgs& args, std::span<const int32_t> tokens, std::span<const float> entropies,
                   bool include_next_token, std::vector<int32_t>& out, PatchScratch& scratch) {
  const int64_t n = static_cast<int64_t>(tokens.size()), n_total = n + (include_next_token ? 1 : 0);
  if (n == 0) throw ShapeError("[patch_lengths] tokens (0): a row needs at least one token");
  const bool entropy_mode = args.patching_mode == PatchingMode::Entropy;
  if (entropy_mode ? entropies.size() != tokens.size() : !entropies.empty() && entropies.size() != tokens.size())
    throw ShapeError("[patch_lengths] entropies (" + std::to_string(entropies.size()) + ") vs tokens (1," +
                     std::to_string(n) + ")" + (entropy_mode ? ": entropy mode needs one entropy per token" : ""));
  out.clear();
  if (args.patching_mode == PatchingMode::Static) {
    const int64_t ps = args.static_patch_size();
    for (int64_t left = n_total; left > 0; left -= ps) out.push_back(static_cast<int32_t>(std::min(ps, left)));
  } else if (args.patching_mode == PatchingMode::Byte) {
    out.assign(static_cast<size_t>(n_total), 1);
  } else {
    // One row needs no padding: the lengths are the gaps between its increasing starts.
    const std::vector<int64_t>& s = scratch.starts;
    row_starts(args, tokens, entropies, 0, include_next_token, scratch.starts);
    for (size_t k = 0; k < s.size(); ++k)
      out.push_back(static_cast<int32_t>((k + 1 < s.size() ? s[k + 1] : n_total) - s[k]));
    while (!out.empty() && out.back() == 0) out.pop_back();  // a one-token row: the forced start 1 is empty
  }
  if (args.max_patch_length) {
    split_long_patches(out, *args.max_patch_length, scratch.split);
    out.swap(scratch.split);
  }
}

std::vector<int32_t> patch_start_ids(std::span<const int32_t> lengths) {
  std::vector<int32_t> starts;
  starts.reserve(lengths.size());
  int64_t pos = 0;
  for (int32_t l : lengths) {
    if (l < 0) throw ShapeError("[patch_start_ids] negative patch length " + std::to_string(l));
    if (l > 0) starts.push_back(static_cast<int32_t>(pos));
    pos += l;
  }
  return starts;
}

}  // namespace blt::patching
