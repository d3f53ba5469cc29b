// The BPE model of HF tokenizers (models/bpe) for byte-level vocabs: merges a pre-token's bytes
// by merge rank. Works on raw bytes; the byte-level character mapping is undone at load time.
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kaiyuan {

struct BpeModelSpec {
  std::vector<std::pair<std::string, int32_t>> vocab;       // byte-level mapped strings ("Ġthe")
  std::vector<std::pair<std::string, std::string>> merges;  // mapped, rank = index
  bool ignore_merges = false;  // a pre-token that is itself a vocab entry is one token (Llama 3)
  // HF rejects merges whose parts or result are not in the vocab; GGUF files are taken as llama.cpp
  // does, where such merges can never fire and are dropped.
  bool drop_invalid_merges = false;
};

class BpeModel {
 public:
  static Result<BpeModel> build(const BpeModelSpec& spec);

  // Appends the ids of one pre-token (raw bytes). Bytes without a vocab entry are dropped, as HF
  // BPE does without an unk token.
  void encode(std::string_view piece, std::vector<int32_t>& out) const;
  int32_t find(std::string_view bytes) const;  // -1 when absent

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* find_merge(int32_t left, int32_t right) const;

  // Transparent hashing: pre-tokens are looked up as string_views without a copy.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_by_bytes_;
  std::array<int32_t, 256> byte_ids_{};
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
};

}  // namespace kaiyuan
