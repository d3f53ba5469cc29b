#include "model/repacked_source.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/mapped_file.h"
#include "core/parallel.h"
#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"

namespace kaiyuan {

struct RepackedWeightSource::Packed {
  TensorView view;  // its data lives in the source's arena
};

RepackedWeightSource::RepackedWeightSource(std::shared_ptr<const WeightSource> inner) : inner_(std::move(inner)) {}
RepackedWeightSource::~RepackedWeightSource() = default;

const TensorView* RepackedWeightSource::find_for_matmul(std::string_view name) const {
  const TensorView* original = inner_->find(name);
  if (original == nullptr || original->shape.size() != 2) return original;
  const auto layout = kernels::packed_layout_for(original->dtype, original->rows(), original->cols());
  // Only where the kernels in use have a kernel for the layout (e.g. not on KAIYUAN_ISA=scalar).
  if (!layout || kernels::active_kernels().matmul_for(*layout) == nullptr) return original;
  const auto expected = row_bytes(original->dtype, original->cols());
  if (!expected || *expected * static_cast<size_t>(original->rows()) != original->nbytes) return original;

  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = packed_.find(name); it != packed_.end()) return &it->second->view;
  auto p = std::make_unique<Packed>();
  const size_t bytes = kernels::packed_nbytes(*layout, original->rows(), original->cols());
  // 64-byte aligned: every group block starts on a cache line (their sizes are multiples of 64).
  uint8_t* dst = arena_.allocate(bytes);
  if (dst == nullptr) return original;  // out of memory for the copy: keep using the mapped layout
  p->view = *original;
  p->view.dtype = *layout;
  p->view.data = dst;
  p->view.nbytes = bytes;
  // Slices of rows are packed and their mapped pages released one after the other, so peak memory
  // grows by one slice, not by a whole (e.g. 150k-row embedding) matrix.
  const int64_t groups = original->rows() / kernels::kPackRows;
  const size_t group_bytes = original->row_stride() * kernels::kPackRows;
  const int64_t slice = std::max<int64_t>(1, static_cast<int64_t>((size_t{16} << 20) / group_bytes));
  for (int64_t s0 = 0; s0 < groups; s0 += slice) {
    const int64_t s1 = std::min(groups, s0 + slice);
    parallel_for(s1 - s0, [&](int64_t g0, int64_t g1) {
      kernels::pack_groups_with(kernels::active_kernels(), *original, *layout, s0 + g0, s0 + g1, dst);
    });
    release_pages(original->data + static_cast<size_t>(s0) * group_bytes, static_cast<size_t>(s1 - s0) * group_bytes);
  }
  const TensorView* view = &p->view;
  packed_.emplace(std::string(name), std::move(p));
  return view;
}

size_t RepackedWeightSource::repacked_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t total = 0;
  for (const auto& [name, p] : packed_) total += p->view.nbytes;
  return total;
}

bool repacking_enabled() {
  const char* v = std::getenv("KAIYUAN_REPACK");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

}  // namespace kaiyuan
