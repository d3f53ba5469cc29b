#include "core/huge_page_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace kaiyuan {
namespace {

size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

}  // namespace

uint8_t* map_huge_aligned(size_t size, int prot) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t want = round_up(size == 0 ? 1 : size, page);
  const size_t span = want + HugePageArena::kHugePage;
  if (want < size || span < want) return nullptr;  // overflow
  void* raw = mmap(nullptr, span, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto* base = static_cast<uint8_t*>(raw);
  auto* aligned = reinterpret_cast<uint8_t*>(round_up(reinterpret_cast<uintptr_t>(base), HugePageArena::kHugePage));
  if (aligned > base) munmap(base, static_cast<size_t>(aligned - base));
  const size_t tail = span - static_cast<size_t>(aligned - base) - want;
  if (tail > 0) munmap(aligned + want, tail);
  return aligned;
}

HugePageArena::~HugePageArena() {
  for (const Chunk& c : chunks_) munmap(c.base, c.size);
}

uint8_t* HugePageArena::allocate(size_t bytes) {
  const size_t need = round_up(bytes == 0 ? 1 : bytes, 64);
  if (need < bytes) return nullptr;  // overflow
  // First fit: a small buffer may fill the end of an older chunk that a large one skipped.
  for (Chunk& c : chunks_) {
    if (c.size - c.used >= need) {
      uint8_t* p = c.base + c.used;
      c.used += need;
      return p;
    }
  }
  // Reserve a whole chunk of address space (MAP_NORESERVE: nothing is committed until written);
  // where the system refuses a reservation that large, map just this buffer. The base is aligned
  // to a huge page so the chunk's pages can be huge from its first byte.
  const size_t size = round_up(need, kHugePage);
  for (size_t want : {std::max(size, kChunkBytes), size}) {
    uint8_t* aligned = map_huge_aligned(want, PROT_READ | PROT_WRITE);
    if (aligned == nullptr) continue;
    madvise(aligned, want, MADV_HUGEPAGE);  // advice only: without THP the chunk keeps 4 KiB pages
    chunks_.push_back(Chunk{aligned, want, need});
    return aligned;
  }
  return nullptr;
}

}  // namespace kaiyuan
