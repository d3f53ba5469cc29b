// Writing NumPy .npy files (format 1.0, little-endian float32, C order): how `kaiyuan eval` hands
// logits to other tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace kaiyuan {

Status write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace kaiyuan
