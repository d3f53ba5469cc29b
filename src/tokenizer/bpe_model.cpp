// BPE merging as HF tokenizers models/bpe/word.rs `merge_all`: a min-heap of (rank, position);
// stale entries are recognised by re-looking up the pair, exactly as HF does, so ties and
// overlapping pairs resolve identically.
#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <bit>

#include "tokenizer/bpe_byte_level.h"

namespace kaiyuan {

Result<BpeModel> BpeModel::build(const BpeModelSpec& spec) {
  BpeModel model;
  model.ignore_merges_ = spec.ignore_merges;
  model.byte_ids_.fill(-1);
  std::unordered_map<std::string_view, int32_t> ids_by_mapped;
  ids_by_mapped.reserve(spec.vocab.size());
  model.ids_by_bytes_.reserve(spec.vocab.size());
  for (const auto& [mapped, id] : spec.vocab) {
    ids_by_mapped[mapped] = id;
    // Entries that are not byte-level text can never come out of a pre-token; they stay reachable
    // by id (decode) but not by BPE.
    if (auto bytes = byte_level::unmap(mapped)) {
      if (bytes->size() == 1) model.byte_ids_[static_cast<uint8_t>((*bytes)[0])] = id;
      model.ids_by_bytes_[std::move(*bytes)] = id;
    }
  }
  // At most half full, so linear probes stay short.
  const size_t n_slots = std::bit_ceil(std::max<size_t>(2 * spec.merges.size(), 16));
  model.merge_slots_.assign(n_slots, MergeSlot{});
  model.merge_shift_ = 64 - std::countr_zero(n_slots);
  std::string joined;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    auto left_it = ids_by_mapped.find(left);
    auto right_it = ids_by_mapped.find(right);
    joined = left + right;
    auto joined_it = ids_by_mapped.find(joined);
    if (left_it == ids_by_mapped.end() || right_it == ids_by_mapped.end() || joined_it == ids_by_mapped.end()) {
      if (spec.drop_invalid_merges) continue;
      const std::string missing = left_it == ids_by_mapped.end() ? left
                                  : right_it == ids_by_mapped.end() ? right
                                                                    : joined;
      return Error("merge " + std::to_string(rank) + " (\"" + left + "\" \"" + right + "\"): token \"" + missing +
                   "\" is not in the vocab");
    }
    // HF collects merges into a map, so a repeated pair keeps its last rank.
    model.insert_merge(pair_key(left_it->second, right_it->second), {static_cast<int32_t>(rank), joined_it->second});
  }
  return model;
}

int32_t BpeModel::find(std::string_view bytes) const {
  auto it = ids_by_bytes_.find(bytes);
  return it == ids_by_bytes_.end() ? -1 : it->second;
}

void BpeModel::insert_merge(uint64_t key, Merge merge) {
  const size_t mask = merge_slots_.size() - 1;
  for (size_t i = slot_of(key);; i = (i + 1) & mask) {
    MergeSlot& slot = merge_slots_[i];
    if (slot.key == kEmptyKey || slot.key == key) {
      slot.key = key;
      slot.merge = merge;
      return;
    }
  }
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  const size_t mask = merge_slots_.size() - 1;
  for (size_t i = slot_of(key);; i = (i + 1) & mask) {
    const MergeSlot& slot = merge_slots_[i];
    if (slot.key == key) return &slot.merge;
    if (slot.key == kEmptyKey) return nullptr;
  }
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& out, Scratch& scratch) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    const int32_t whole = find(piece);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  std::vector<Symbol>& symbols = scratch.symbols;
  symbols.clear();
  for (char c : piece) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id < 0) continue;
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, false});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  if (symbols.size() == 1) {
    out.push_back(symbols[0].id);
    return;
  }

  // The same heap operations std::priority_queue performs, on reused storage.
  std::vector<Candidate>& queue = scratch.heap;
  queue.clear();
  const auto push = [&queue](Candidate c) {
    queue.push_back(c);
    std::push_heap(queue.begin(), queue.end());
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id)) {
      push({m->rank, static_cast<int32_t>(i), m->new_id});
    }
  }
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end());
    const Candidate top = queue.back();
    queue.pop_back();
    Symbol& current = symbols[top.pos];
    if (current.removed || current.next < 0) continue;
    Symbol& right = symbols[current.next];
    const Merge* m = find_merge(current.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;  // stale entry
    current.id = top.new_id;
    right.removed = true;
    current.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (current.prev >= 0) {
      if (const Merge* left = find_merge(symbols[current.prev].id, current.id)) {
        push({left->rank, current.prev, left->new_id});
      }
    }
    if (current.next >= 0) {
      if (const Merge* next = find_merge(current.id, symbols[current.next].id)) {
        push({next->rank, top.pos, next->new_id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (!s.removed) out.push_back(s.id);
  }
}

}  // namespace kaiyuan
