// Safetensors reader and writer. File layout: u64 little-endian header length
// N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, optional
// "__metadata__": {string: string}}, then the data section (offsets are relative
// to its start). open() mmaps the file and validates the whole header before any
// read, so a malformed file is a FormatError naming the file (and tensor), never
// a crash. Reads copy into fresh 64-byte-aligned Tensors, converting F32/F64/
// BF16/F16 to F32 or F64 (F64 -> F32 rounds to nearest and, as torch does,
// turns values beyond float range into +-inf); the writer stores F32/F64 as is,
// atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/file.h"

namespace blt::io {

// One header entry. `dtype` is the spec's string ("F32", "BF16", "I64", ...);
// [begin, end) are byte offsets into the data section.
struct SafetensorsInfo {
  std::string dtype;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;
};

// Size in bytes of a safetensors dtype string; 0 if this reader does not know it.
// Known: BOOL U8 I8 F8_E4M3 F8_E5M2 I16 U16 F16 BF16 I32 U32 F32 I64 U64 F64.
size_t safetensors_dtype_size(const std::string& dtype);
// The safetensors dtype string of a tensor dtype: "F32", "F64" or "BF16".
std::string safetensors_dtype(DType t);

// Half-precision bit patterns to float (exact: every BF16/F16 value is a float).
float bf16_to_f32(uint16_t bits);
float f16_to_f32(uint16_t bits);  // subnormals, +-inf and NaN (payload kept) included
// double to float, defined for every input (a plain cast is undefined beyond float
// range): round to nearest even; |v| rounding past FLT_MAX becomes +-inf, as in
// torch's .float(); NaN stays NaN. Used by the safetensors and .pth readers.
float f64_to_f32(double v);

class SafetensorsFile {
 public:
  // mmap + full header validation; IoError if unreadable, FormatError if malformed.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  // Tensor names in data-offset order (ties by name).
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // FormatError naming file and tensor if absent.
  const SafetensorsInfo& info(const std::string& name) const;
  // As blt::Shape; FormatError if the rank is above 4.
  Shape shape(const std::string& name) const;
  // The stored bytes of a tensor, unconverted (little-endian).
  std::span<const std::byte> bytes(const std::string& name) const;
  // The mapping every bytes() span points into: holding it keeps them valid after this object is gone
  // (weights used as stored, nn::map_params). Read-only memory: never written.
  std::shared_ptr<const void> mapping() const { return file_; }

  // Float tensors (F32, F64, BF16, F16) converted to `to` (F32, F64 or BF16); FormatError for other dtypes.
  Tensor read(const std::string& name, DType to = DType::F32) const;
  // Same conversion into dst (its dtype). The shapes must match exactly: ShapeError
  // naming file, tensor and both shapes.
  void read_into(const std::string& name, const TensorView& dst) const;
  // Integer tensors (I64, I32, I16, I8, U64, U32, U16, U8, BOOL) as int64, any rank;
  // FormatError for float dtypes or a U64 value above INT64_MAX.
  std::vector<int64_t> read_ints(const std::string& name) const;

  // The "__metadata__" object (empty if absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  const std::byte* data_of(const SafetensorsInfo& e) const;

  std::string path_;
  std::shared_ptr<const MappedFile> file_;  // shared: SafetensorsFile is cheap to copy
  size_t data_start_ = 0;                   // 8 + N
  std::map<std::string, SafetensorsInfo> entries_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

// Converts stored floats (dtype F32, F64, BF16 or F16; exactly dst.numel() of them in `src`) into dst
// (F32, F64 or BF16: a bf16 file into bf16 is copied, anything else into bf16 rounds to nearest even),
// as read_into does: e.g. a slice of rows of a tensor's bytes().
void convert_float_bytes(const std::string& dtype, std::span<const std::byte> src, const TensorView& dst);

// A tensor to write byte for byte, in any dtype: its data is the concatenation of `pieces` (e.g. spans
// of mapped files, several of them when tensors are fused). shape e.g. {509, 32}.
struct RawTensor {
  std::string name;
  std::string dtype;  // e.g. "BF16"
  std::vector<int64_t> shape;
  std::vector<std::span<const std::byte>> pieces;
};

// Writes raw tensors plus optional metadata atomically, laid out and listed in the given order (as
// write_safetensors). FormatError naming path and tensor for a duplicate or reserved name, an unknown
// dtype, or pieces whose total size is not the shape's element count times the dtype's size.
void write_safetensors_raw(const std::string& path, const std::vector<RawTensor>& tensors,
                           const std::map<std::string, std::string>& metadata = {});

// Writes F32/F64/BF16 tensors (stored in their own dtype) plus optional metadata,
// atomically (AtomicFile). Tensors are laid out, and listed in the header, in
// the given order; the header is padded with spaces to a multiple of 8 bytes so
// the data section starts 8-byte aligned. FormatError naming path and tensor for
// a duplicate name, the reserved name "__metadata__", or an undefined view.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, TensorView>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace blt::io
