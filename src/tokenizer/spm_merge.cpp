// The SentencePiece BPE encoder for one run of ordinary text: normalize, split into characters,
// then repeatedly merge the adjacent pair whose merged piece has the highest score (ties: the
// leftmost pair), as sentencepiece bpe_model.cc Model::Encode and llama.cpp llm_tokenizer_spm.
#include <queue>
#include <unordered_map>

#include "tokenizer/spm.h"

namespace kaiyuan {
namespace {

constexpr std::string_view kMetaSymbol = "\xE2\x96\x81";  // U+2581 "▁"

// Length of the UTF-8 character starting with `lead` (1 for bytes that cannot start one; such
// bytes end up as byte pieces).
size_t utf8_char_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC0 && lead < 0xE0) return 2;
  if (lead >= 0xE0 && lead < 0xF0) return 3;
  if (lead >= 0xF0 && lead < 0xF8) return 4;
  return 1;
}

// A symbol is a slice of the normalized text in a doubly linked list; merging grows the left
// symbol and empties the right one.
struct Symbol {
  size_t start = 0;
  size_t length = 0;
  int prev = -1;
  int next = -1;
};

struct Bigram {
  float score = 0.0f;
  int left = -1;
  int right = -1;
  size_t length = 0;  // of the merged piece; a stale entry no longer matches its symbols
};

// std::priority_queue pops the largest: the highest score, then the smallest `left`.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

std::string SpmTokenizer::normalize(std::string_view text, bool add_prefix) const {
  // sentencepiece normalizer.cc Normalize with an identity character map: optional removal of
  // leading, trailing and repeated spaces, the dummy prefix, then ' ' -> '▁'.
  const std::string_view space = vocab_.escape_whitespaces ? kMetaSymbol : std::string_view(" ");
  const bool collapse = vocab_.remove_extra_whitespaces;
  std::string out;
  out.reserve(text.size() + text.size() / 2 + 3);
  if (add_prefix && vocab_.add_dummy_prefix) out.append(space);
  bool prev_space = collapse;  // drops heading spaces when collapsing
  for (char c : text) {
    if (c == ' ') {
      if (!(collapse && prev_space)) out.append(space);
      prev_space = true;
    } else {
      out.push_back(c);
      prev_space = false;
    }
  }
  // Trailing meta symbols go too, the dummy prefix of an all-space text included, so " " encodes
  // to nothing (sentencepiece "Ignores tailing space").
  if (collapse) {
    while (out.size() >= space.size() && std::string_view(out).substr(out.size() - space.size()) == space)
      out.resize(out.size() - space.size());
  }
  return out;
}

void SpmTokenizer::emit_unknown(std::string_view symbol, std::vector<int32_t>* out) const {
  if (vocab_.byte_fallback) {
    for (char c : symbol) {
      const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
      if (id >= 0) out->push_back(id);
      else if (vocab_.unk_id >= 0) out->push_back(vocab_.unk_id);
    }
    return;
  }
  if (vocab_.unk_id >= 0) out->push_back(vocab_.unk_id);
}

void SpmTokenizer::encode_text(std::string_view text, bool add_prefix, std::vector<int32_t>* out) const {
  const std::string normalized = normalize(text, add_prefix);
  if (normalized.empty()) return;
  const std::string_view norm(normalized);

  std::vector<Symbol> symbols;
  symbols.reserve(norm.size());
  for (size_t pos = 0; pos < norm.size();) {
    const size_t len = std::min(utf8_char_length(static_cast<uint8_t>(norm[pos])), norm.size() - pos);
    Symbol s;
    s.start = pos;
    s.length = len;
    s.prev = static_cast<int>(symbols.size()) - 1;
    s.next = pos + len < norm.size() ? static_cast<int>(symbols.size()) + 1 : -1;
    symbols.push_back(s);
    pos += len;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> agenda;
  // Merged UNUSED pieces are split back into their halves at the end (sentencepiece rev_merge).
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;
  auto piece_of = [&](int i) { return norm.substr(symbols[i].start, symbols[i].length); };
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view merged = norm.substr(symbols[left].start, symbols[left].length + symbols[right].length);
    const auto it = mergeable_.find(merged);
    if (it == mergeable_.end()) return;
    agenda.push({vocab_.pieces[static_cast<size_t>(it->second)].score, left, right, merged.size()});
    if (type_of(it->second) == SpmPieceType::UNUSED) rev_merge[merged] = {piece_of(left), piece_of(right)};
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!agenda.empty()) {
    const Bigram top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != top.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    try_add(left.prev, top.left);
    try_add(top.left, left.next);
  }

  const size_t first_out = out->size();
  auto resegment = [&](auto&& self, std::string_view piece) -> void {
    const auto it = mergeable_.find(piece);
    if (it != mergeable_.end()) {
      if (type_of(it->second) == SpmPieceType::UNUSED) {
        const auto halves = rev_merge.find(piece);
        if (halves != rev_merge.end()) {
          self(self, halves->second.first);
          self(self, halves->second.second);
          return;
        }
      }
      out->push_back(it->second);
      return;
    }
    // sentencepiece merges runs of unknown characters into one <unk> when there is no byte
    // fallback (PopulateSentencePieceText).
    if (!vocab_.byte_fallback && out->size() > first_out && out->back() == vocab_.unk_id) return;
    emit_unknown(piece, out);
  };
  for (int i = 0; i >= 0; i = symbols[i].next) resegment(resegment, piece_of(i));
}

}  // namespace kaiyuan
