// Precomputed per-position entropies for `blt patch --entropies`, one value
// per position of the patched sequence (position 0 is the BOS). Three formats,
// chosen by extension: `.f32` little-endian float32 (what `blt entropy` writes
// by default), `.jsonl` lines {"pos": i, "entropy": h} (`blt entropy --format
// jsonl`), anything else a JSON array of numbers. Every value must be a finite
// float32; errors are FormatError/IoError naming the path and the position.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace blt::patching {

// path -> entropies (N), N >= 1. IoError for a missing or unreadable file; FormatError for an empty file,
// a .f32 size that is not a multiple of 4, JSON that is not an array of numbers, non-finite values.
std::vector<float> read_entropy_file(const std::string& path);

// The parsers behind read_entropy_file; `where` names the source in messages.
std::vector<float> parse_entropy_f32(std::string_view bytes, const std::string& where);
std::vector<float> parse_entropy_json(std::string_view text, const std::string& where);
std::vector<float> parse_entropy_jsonl(std::string_view text, const std::string& where);

}  // namespace blt::patching
