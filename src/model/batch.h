// Batch: the tokens of one forward call. Tokens of several sequences may be mixed, so prompt
// processing, single-token decoding and continuous batching are one code path.
#pragma once

#include <cstdint>
#include <vector>

namespace kaiyuan {

struct Batch {
  std::vector<int32_t> tokens;     // [n_tokens]
  std::vector<int32_t> positions;  // [n_tokens] position of each token in its sequence
  std::vector<int32_t> seq_ids;    // [n_tokens] KV-cache slot of each token's sequence
  std::vector<uint8_t> want_logits;  // [n_tokens] 1 = compute this token's logits

  size_t size() const { return tokens.size(); }
  void clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
  }
  void add(int32_t token, int32_t position, int32_t seq_id, bool logits) {
    tokens.push_back(token);
    positions.push_back(position);
    seq_ids.push_back(seq_id);
    want_logits.push_back(logits ? 1 : 0);
  }
  size_t n_outputs() const {
    size_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
  }
};

}  // namespace kaiyuan
