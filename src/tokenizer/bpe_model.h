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
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool removed;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    // A max-heap (std::push_heap) pops the smallest rank first, then the leftmost position.
    bool operator<(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  // Working memory of encode(), reused across the pre-tokens of one encode call so that merging a
  // piece allocates nothing. Owned by the caller: the model itself stays immutable and shared.
  struct Scratch {
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
  };

  static Result<BpeModel> build(const BpeModelSpec& spec);

  // Appends the ids of one pre-token (raw bytes). Bytes without a vocab entry are dropped, as HF
  // BPE does without an unk token.
  void encode(std::string_view piece, std::vector<int32_t>& out, Scratch& scratch) const;
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
  void insert_merge(uint64_t key, Merge merge);  // a repeated key keeps the last value

  // Open-addressing hash table of merges (linear probing, power-of-two size): the lookup on the
  // merge loop's hot path is one multiply and usually one cache line, where std::unordered_map
  // costs a modulo by a prime and a pointer chase per probe.
  struct MergeSlot {
    uint64_t key = kEmptyKey;
    Merge merge{};
  };
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};  // ids are non-negative, so never a real key
  size_t slot_of(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> merge_shift_);  // Fibonacci hashing
  }
  std::vector<MergeSlot> merge_slots_;
  int merge_shift_ = 64;

  // Transparent hashing: pre-tokens are looked up as string_views without a copy.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_by_bytes_;
  std::array<int32_t, 256> byte_ids_{};
  bool ignore_merges_ = false;
};

}  // namespace kaiyuan
