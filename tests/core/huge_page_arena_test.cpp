#include "core/huge_page_arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "test_support.h"

namespace kaiyuan {
namespace {

TEST(HugePageArena, BuffersAreAlignedDisjointAndWritable) {
  HugePageArena arena;
  std::vector<std::pair<uint8_t*, size_t>> buffers;
  for (size_t bytes : {size_t{1}, size_t{63}, size_t{64}, size_t{100}, size_t{3} << 20, size_t{4097}, size_t{0}}) {
    uint8_t* p = arena.allocate(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes;
    std::memset(p, static_cast<int>(buffers.size() + 1), bytes);
    buffers.emplace_back(p, bytes);
  }
  // Each buffer still holds its own fill: none overlaps another.
  for (size_t k = 0; k < buffers.size(); ++k)
    for (size_t i = 0; i < buffers[k].second; ++i)
      ASSERT_EQ(buffers[k].first[i], static_cast<uint8_t>(k + 1)) << "buffer " << k << " byte " << i;
  // Small buffers are packed one after another (64-byte steps), not one chunk each.
  EXPECT_EQ(buffers[1].first, buffers[0].first + 64);
  EXPECT_EQ(buffers[3].first, buffers[2].first + 64);
}

TEST(HugePageArena, ChunksStartOnAHugePageAndLargeBuffersGetTheirOwn) {
  HugePageArena arena;
  uint8_t* first = arena.allocate(1000);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % HugePageArena::kHugePage, 0u);
  // Larger than a chunk: a mapping of its own, also huge-page aligned; then small ones go back
  // to the first chunk's free space.
  uint8_t* big = arena.allocate(HugePageArena::kChunkBytes + 1);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % HugePageArena::kHugePage, 0u);
  big[0] = 1;
  big[HugePageArena::kChunkBytes] = 2;  // the last byte is mapped (only these two pages become resident)
  uint8_t* after = arena.allocate(10);
  EXPECT_EQ(after, first + 1024);
}

TEST(HugePageArena, ChunksAreAdvisedForTransparentHugePages) {
  struct stat st;
  if (stat("/sys/kernel/mm/transparent_hugepage", &st) != 0) GTEST_SKIP() << "kernel without transparent huge pages";
  HugePageArena arena;
  uint8_t* p = arena.allocate(4096);
  ASSERT_NE(p, nullptr);
  p[0] = 1;
  const std::string flags = test::mapping_of(p).vm_flags;
  ASSERT_FALSE(flags.empty()) << "no smaps entry for the chunk";
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;  // hg: MADV_HUGEPAGE
}

// map_huge_aligned (also MappedFile's reservation for the model file): a huge-page-aligned region
// of the size asked, rounded to whole pages, with the over-sized reservation's slack unmapped.
TEST(MapHugeAligned, ReturnsAnAlignedRegionOfTheSizeAndGivesBackTheSlack) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t size = 3 * page + 100;  // not a whole number of pages
  uint8_t* p = map_huge_aligned(size, PROT_READ | PROT_WRITE);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % HugePageArena::kHugePage, 0u);
  p[0] = 1;
  p[size - 1] = 2;
  p[4 * page - 1] = 3;  // the rest of the last page is the region's too
  // The page after the region was part of the reservation's slack and is no longer mapped.
  errno = 0;
  EXPECT_EQ(msync(p + 4 * page, page, MS_ASYNC), -1);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(munmap(p, size), 0);
}

}  // namespace
}  // namespace kaiyuan
