// Binding named tensors with shape and dtype checks: every problem is reported at load time with
// the tensor's name, never discovered inside a kernel.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "format/weight_source.h"

namespace kaiyuan {

// A matrix [rows, cols] the matmul kernels can use (dtype dequantizable, shape exact): the
// source's view for matmul, which may be a repacked copy (model/repacked_source.h), so use it only
// through kernels/ops.h.
Result<const TensorView*> bind_matrix(const WeightSource& src, const std::string& name, int64_t rows, int64_t cols);
// Like bind_matrix, but nullptr (not an error) when absent.
Result<const TensorView*> bind_optional_matrix(const WeightSource& src, const std::string& name, int64_t rows,
                                               int64_t cols);
// Like bind_matrix, but always the file's own mapped bytes, never a copy: for tables read by row
// (the token embedding) and for weights that must stay mapped (MoE experts).
Result<const TensorView*> bind_mapped_matrix(const WeightSource& src, const std::string& name, int64_t rows,
                                             int64_t cols);
// A vector of n elements (norm weights, biases) converted to f32; `required` false -> empty if absent.
Result<std::vector<float>> load_vector(const WeightSource& src, const std::string& name, int64_t n, bool required);

}  // namespace kaiyuan
