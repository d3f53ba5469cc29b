#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/huge_page_arena.h"

namespace kaiyuan {

namespace {

// Maps the file read-only at a 2 MiB-aligned address and advises huge pages: where the
// filesystem keeps large page-cache folios (ext4 and XFS on recent kernels), file offsets and
// addresses then line up so that 2 MiB of weights take one TLB entry, as the repacked copies do
// (core/huge_page_arena.h). Elsewhere the advice changes nothing.
void* map_aligned(int fd, size_t size) {
  const char* env = std::getenv("KAIYUAN_FILE_THP");
  if (env != nullptr && std::strcmp(env, "0") == 0) return mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  // The file replaces an aligned reservation of its size (MAP_FIXED maps over it).
  uint8_t* reserved = map_huge_aligned(size, PROT_NONE);
  if (reserved == nullptr) return mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  void* p = mmap(reserved, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    munmap(reserved, size);
    return mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  madvise(p, size, MADV_HUGEPAGE);
  return p;
}

}  // namespace

MappedFile::~MappedFile() {
  if (data_ != nullptr && size_ > 0) munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), size_(other.size_), path_(std::move(other.path_)) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr && size_ > 0) munmap(const_cast<uint8_t*>(data_), size_);
    data_ = other.data_;
    size_ = other.size_;
    path_ = std::move(other.path_);
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Error(path + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(path + ": not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = map_aligned(fd, file.size_);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return Error(path + ": mmap failed: " + std::strerror(err));
    }
    file.data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return file;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error(path + ": read error");
  return ss.str();
}

void MappedFile::release_all() const {
  if (data_ == nullptr) return;
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  release_pages(data_, (size_ + page - 1) / page * page);  // the mapping spans whole pages
}

void advise_sparse_reads(const void* p, size_t n) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(p) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(p) + n + page - 1) / page * page;
  if (end <= begin) return;
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_NOHUGEPAGE);
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_RANDOM);
}

void MappedFile::release_range(const void* p, size_t n) const {
  if (data_ == nullptr) return;
  const auto lo = std::max(reinterpret_cast<uintptr_t>(p), reinterpret_cast<uintptr_t>(data_));
  const auto hi = std::min(reinterpret_cast<uintptr_t>(p) + n, reinterpret_cast<uintptr_t>(data_) + size_);
  if (hi > lo) release_pages(reinterpret_cast<const void*>(lo), hi - lo);
}

void release_pages(const void* p, size_t n) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  // MADV_DONTNEED on a private read-only file mapping only unmaps clean page-cache pages: the
  // contents stay the file's. Failure just leaves the pages resident.
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace kaiyuan
