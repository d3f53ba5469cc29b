// A read-only memory mapping of a whole file. Weights are served straight from these pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace kaiyuan {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Fails with a message naming the path for missing files, directories and unreadable files.
  static Result<MappedFile> open(const std::string& path);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // release_pages over the whole mapping, its last partial page included.
  void release_all() const;
  // release_pages over the part of [p, p + n) inside this mapping (nothing when outside).
  void release_range(const void* p, size_t n) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Drops the pages of [p, p + n) inside a read-only file mapping from this process's resident set
// (whole pages only); later reads fault them back in from the page cache. For weights that were
// copied elsewhere (repacked) and are read rarely or never again.
void release_pages(const void* p, size_t n);

// For a mapped region read a row at a time at random (an untied token-embedding table): no huge
// pages and no fault-around there, so a lookup maps the page it reads, not the 2 MiB folio or the
// 64 KiB around it. Advice only: the contents are unchanged, and on memory that is not a file
// mapping it does nothing harmful.
void advise_sparse_reads(const void* p, size_t n);

// Reads a whole (small) file such as config.json into a string.
Result<std::string> read_text_file(const std::string& path);

}  // namespace kaiyuan
