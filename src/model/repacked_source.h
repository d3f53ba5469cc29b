// RepackedWeightSource: a WeightSource that hands the matmul kernels repacked copies of the
// matrices they have a faster layout for (kernels/packed_layout.h), and everything else as the
// wrapped source has it. Copies are made on first request (bind time), once, in parallel over row
// groups; the mapped pages they were copied from are then released from the resident set, so the
// process holds one copy of each weight, not two. The copies sit on transparent huge pages
// (core/huge_page_arena.h): the decode kernels stream them from memory every token.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/huge_page_arena.h"
#include "format/weight_source.h"

namespace kaiyuan {

class RepackedWeightSource final : public WeightSource {
 public:
  explicit RepackedWeightSource(std::shared_ptr<const WeightSource> inner);
  ~RepackedWeightSource() override;

  const TensorView* find(std::string_view name) const override { return inner_->find(name); }
  const std::vector<TensorView>& tensors() const override { return inner_->tensors(); }
  std::string format_name() const override { return inner_->format_name(); }
  const TensorView* find_for_matmul(std::string_view name) const override;
  void release_mapped_pages() const override { inner_->release_mapped_pages(); }
  void release_mapped_range(const void* p, size_t n) const override { inner_->release_mapped_range(p, n); }

  // Bytes held in repacked copies (reported by `inspect`/`bench` as the cost of repacking).
  size_t repacked_bytes() const;

 private:
  struct Packed;
  std::shared_ptr<const WeightSource> inner_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::unique_ptr<Packed>, std::less<>> packed_;
  mutable HugePageArena arena_;  // the repacked copies, on huge pages where the system has them
};

// Whether load_model repacks: on unless KAIYUAN_REPACK=0 (for side-by-side comparisons).
bool repacking_enabled();

}  // namespace kaiyuan
