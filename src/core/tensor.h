// TensorView: a non-owning, typed view of weights (usually pages of an mmap'd model file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace kaiyuan {

// Shapes are listed OUTERMOST FIRST, as in PyTorch/safetensors: a linear layer's weight is
// {n_out, n_in} and row r (n_in contiguous elements) is output feature r. GGUF writes ne[] innermost
// first; the GGUF reader reverses it so both formats agree here.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }  // innermost dimension
  int64_t rows() const { return shape.empty() ? 1 : numel() / cols(); }
  size_t row_stride() const { return cols() == 0 ? 0 : nbytes / static_cast<size_t>(rows()); }
};

std::string shape_string(const std::vector<int64_t>& shape);  // "[4096, 1024]"

}  // namespace kaiyuan
