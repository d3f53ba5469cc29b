#include "model/weights.h"

#include "kernels/ops.h"
#include "kernels/quant/quant.h"

namespace kaiyuan {
namespace {

bool computable(DType t) {
  switch (t) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::Q4_0: case DType::Q4_1:
    case DType::Q5_0: case DType::Q5_1: case DType::Q8_0: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

Status check_tensor(const TensorView& t, const std::vector<int64_t>& expected) {
  if (t.shape != expected)
    return Error(t.name + ": shape " + shape_string(t.shape) + ", expected " + shape_string(expected));
  if (!computable(t.dtype))
    return Error(t.name + ": tensor type " + std::string(dtype_name(t.dtype)) + " is not supported");
  const auto bytes = row_bytes(t.dtype, t.cols());
  if (!bytes || *bytes * static_cast<size_t>(t.rows()) != t.nbytes)
    return Error(t.name + ": " + std::to_string(t.nbytes) + " bytes of data do not match type " +
                 std::string(dtype_name(t.dtype)) + " and shape " + shape_string(t.shape));
  return Status::ok();
}

}  // namespace

Result<const TensorView*> bind_optional_matrix(const WeightSource& src, const std::string& name, int64_t rows,
                                               int64_t cols) {
  const TensorView* t = src.find(name);
  if (t == nullptr) return static_cast<const TensorView*>(nullptr);
  KY_RETURN_IF_ERROR(check_tensor(*t, {rows, cols}));
  return src.find_for_matmul(name);
}

Result<const TensorView*> bind_mapped_matrix(const WeightSource& src, const std::string& name, int64_t rows,
                                             int64_t cols) {
  const TensorView* t = src.find(name);
  if (t == nullptr) return Error("missing tensor '" + name + "' (expected shape " + shape_string({rows, cols}) + ")");
  KY_RETURN_IF_ERROR(check_tensor(*t, {rows, cols}));
  return t;
}

Result<const TensorView*> bind_matrix(const WeightSource& src, const std::string& name, int64_t rows, int64_t cols) {
  KY_ASSIGN_OR_RETURN(const TensorView* t, bind_optional_matrix(src, name, rows, cols));
  if (t == nullptr) return Error("missing tensor '" + name + "' (expected shape " + shape_string({rows, cols}) + ")");
  return t;
}

Result<std::vector<float>> load_vector(const WeightSource& src, const std::string& name, int64_t n, bool required) {
  const TensorView* t = src.find(name);
  if (t == nullptr) {
    if (required) return Error("missing tensor '" + name + "' (expected shape [" + std::to_string(n) + "])");
    return std::vector<float>{};
  }
  KY_RETURN_IF_ERROR(check_tensor(*t, {n}));
  std::vector<float> out(static_cast<size_t>(n));
  kernels::dequantize_row(*t, 0, out.data());
  return out;
}

}  // namespace kaiyuan
