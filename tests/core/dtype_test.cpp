#include "core/dtype.h"

#include <gtest/gtest.h>

#include "core/status.h"
#include "core/tensor.h"

namespace kaiyuan {
namespace {

// Block sizes from ggml-common.h (static_asserts there): the values GGUF files are written with.
TEST(DType, BlockLayoutsMatchGgml) {
  EXPECT_EQ(row_bytes(DType::F32, 10), 40u);
  EXPECT_EQ(row_bytes(DType::BF16, 10), 20u);
  EXPECT_EQ(row_bytes(DType::Q8_0, 64), 68u);
  EXPECT_EQ(row_bytes(DType::Q4_0, 32), 18u);
  EXPECT_EQ(row_bytes(DType::Q4_K, 512), 288u);
  EXPECT_EQ(row_bytes(DType::Q5_K, 256), 176u);
  EXPECT_EQ(row_bytes(DType::Q6_K, 256), 210u);
  EXPECT_FALSE(row_bytes(DType::Q4_K, 100).has_value());
  EXPECT_FALSE(row_bytes(DType::Q8_0, -32).has_value());
  EXPECT_FALSE(dtype_traits(4).has_value());   // retired Q4_2
  EXPECT_FALSE(dtype_traits(999).has_value());
  EXPECT_EQ(dtype_name(DType::Q6_K), "q6_K");
}

TEST(Status, CarriesContext) {
  Status s = Error("bad tensor").with_context("model.gguf");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "model.gguf: bad tensor");
  Result<int> r = Error("nope");
  EXPECT_FALSE(r.is_ok());
  Result<int> ok = 5;
  EXPECT_EQ(*ok, 5);
}

TEST(Tensor, ShapeHelpers) {
  TensorView t;
  t.shape = {3, 4};
  t.nbytes = 48;
  EXPECT_EQ(t.rows(), 3);
  EXPECT_EQ(t.cols(), 4);
  EXPECT_EQ(t.row_stride(), 16u);
  EXPECT_EQ(shape_string(t.shape), "[3, 4]");
}

}  // namespace
}  // namespace kaiyuan
