// HugePageArena: a bump allocator for large long-lived buffers (repacked weights) that the
// kernels stream through once per token. Its chunks are anonymous mappings advised for
// transparent huge pages (MADV_HUGEPAGE; Debian's default THP mode is "madvise", so plain heap
// memory gets 4 KiB pages): a 2 MiB page takes one TLB entry where 512 small pages took 512, and a
// decode kernel streaming a 128 MB matrix from memory ran 8-10% faster on it (docs/BENCHMARKS.md).
// Buffers are packed one after another inside a chunk, so rounding to huge pages costs at most
// the partly used page at the end of each chunk. Pages are only resident once written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kaiyuan {

// Reserves `size` bytes of anonymous address space (MAP_NORESERVE: nothing is committed until
// written) with protection `prot`, at a 2 MiB-aligned address so that its pages can be huge from
// the first byte: maps 2 MiB more and gives back the slack on both sides. nullptr where the
// system refuses. The caller munmaps [result, result + size) (or maps over it with MAP_FIXED).
uint8_t* map_huge_aligned(size_t size, int prot);

class HugePageArena {
 public:
  HugePageArena() = default;
  ~HugePageArena();
  HugePageArena(const HugePageArena&) = delete;
  HugePageArena& operator=(const HugePageArena&) = delete;

  // A 64-byte aligned buffer of `bytes`, valid until the arena is destroyed; nullptr when the
  // address space or memory is exhausted. Not thread-safe (callers serialise).
  uint8_t* allocate(size_t bytes);

  // Chunk reservations are this large (virtual address space, not memory) unless a buffer needs more.
  static constexpr size_t kChunkBytes = size_t{1} << 30;
  static constexpr size_t kHugePage = size_t{2} << 20;

 private:
  struct Chunk {
    uint8_t* base;
    size_t size;
    size_t used;
  };
  std::vector<Chunk> chunks_;
};

}  // namespace kaiyuan
