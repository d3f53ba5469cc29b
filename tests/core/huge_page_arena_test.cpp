#include "core/huge_page_arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <sys/stat.h>
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

}  // namespace
}  // namespace kaiyuan
