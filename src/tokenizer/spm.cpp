// SpmTokenizer: vocab checks and lookup tables, special-token splitting, and decoding. The merge
// loop itself is in spm_merge.cpp.
#include "tokenizer/spm.h"

#include <algorithm>
#include <cstdio>

namespace kaiyuan {
namespace {

// sentencepiece's whitespace meta symbol U+2581 "▁".
constexpr std::string_view kMetaSymbol = "\xE2\x96\x81";

// "<0x41>" -> 0x41; -1 for anything else (sentencepiece ByteToPiece writes "<0x%02X>").
int parse_byte_piece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int value = 0;
  for (char c : piece.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9') value += c - '0';
    else if (c >= 'A' && c <= 'F') value += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') value += c - 'a' + 10;
    else return -1;
  }
  return value;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

Result<std::unique_ptr<SpmTokenizer>> SpmTokenizer::create(SpmVocab vocab) {
  const int64_t n = static_cast<int64_t>(vocab.pieces.size());
  if (n == 0) return Error("empty vocabulary");
  if (n > INT32_MAX) return Error("vocabulary of " + std::to_string(n) + " pieces is too large");
  auto check_id = [n](int32_t id, const char* what) -> Status {
    if (id >= -1 && id < n) return Status::ok();
    return Error(std::string(what) + " id " + std::to_string(id) + " is outside the vocabulary of " +
                 std::to_string(n));
  };
  KY_RETURN_IF_ERROR(check_id(vocab.bos_id, "BOS"));
  KY_RETURN_IF_ERROR(check_id(vocab.eos_id, "EOS"));
  KY_RETURN_IF_ERROR(check_id(vocab.unk_id, "UNK"));
  for (int32_t id : vocab.end_of_generation_ids) KY_RETURN_IF_ERROR(check_id(id, "end-of-generation"));
  for (int32_t id : vocab.extra_special_ids) KY_RETURN_IF_ERROR(check_id(id, "special token"));
  for (const auto& p : vocab.pieces) {
    const auto t = static_cast<int32_t>(p.type);
    if (t < 1 || t > 6) return Error("piece '" + p.piece + "' has unknown type " + std::to_string(t));
  }
  return std::unique_ptr<SpmTokenizer>(new SpmTokenizer(std::move(vocab)));
}

SpmTokenizer::SpmTokenizer(SpmVocab vocab) : vocab_(std::move(vocab)) {
  const size_t n = vocab_.pieces.size();
  byte_ids_.fill(-1);
  special_flags_.assign(n, false);
  eog_flags_.assign(n, false);
  mergeable_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& p = vocab_.pieces[i];
    const auto id = static_cast<int32_t>(i);
    switch (p.type) {
      case SpmPieceType::NORMAL:
      case SpmPieceType::UNUSED:
        mergeable_.emplace(p.piece, id);  // first occurrence wins, as sentencepiece's map
        break;
      case SpmPieceType::USER_DEFINED:
        mergeable_.emplace(p.piece, id);
        if (!p.piece.empty()) specials_.push_back({p.piece, id, false});
        break;
      case SpmPieceType::CONTROL:
      case SpmPieceType::UNKNOWN:
        special_flags_[i] = true;
        if (!p.piece.empty()) specials_.push_back({p.piece, id, true});
        break;
      case SpmPieceType::BYTE: {
        const int b = parse_byte_piece(p.piece);
        if (b >= 0 && byte_ids_[static_cast<size_t>(b)] < 0) byte_ids_[static_cast<size_t>(b)] = id;
        break;
      }
    }
  }
  for (int32_t id : vocab_.extra_special_ids) special_flags_[static_cast<size_t>(id)] = true;
  // Longest match first, so "<|im_start|>" wins over a shorter token that prefixes it.
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const SpecialText& a, const SpecialText& b) { return a.text.size() > b.text.size(); });
  for (size_t i = 0; i < specials_.size(); ++i)
    specials_by_byte_[static_cast<uint8_t>(specials_[i].text[0])].push_back(static_cast<uint32_t>(i));
  if (vocab_.eos_id >= 0) eog_flags_[static_cast<size_t>(vocab_.eos_id)] = true;
  for (int32_t id : vocab_.end_of_generation_ids)
    if (id >= 0) eog_flags_[static_cast<size_t>(id)] = true;
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> out;
  if (options.add_special && vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  // Split the text at special tokens written in it (llama.cpp tokenizer_st_partition, HF added
  // tokens); every run of ordinary text between them is encoded on its own.
  bool after_special = false;
  size_t run_start = 0;
  size_t pos = 0;
  auto flush_run = [&](size_t end) {
    if (end > run_start) {
      const bool add_prefix = run_start == 0 || (after_special && vocab_.dummy_prefix_after_special);
      encode_text(text.substr(run_start, end - run_start), add_prefix, &out);
    }
  };
  while (pos < text.size()) {
    const SpecialText* match = nullptr;
    for (uint32_t index : specials_by_byte_[static_cast<uint8_t>(text[pos])]) {
      const SpecialText& s = specials_[index];
      if (s.needs_parse_special && !options.parse_special) continue;
      if (text.compare(pos, s.text.size(), s.text) == 0) {
        match = &s;
        break;
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    flush_run(pos);
    out.push_back(match->id);
    after_special = true;
    pos += match->text.size();
    run_start = pos;
  }
  flush_run(text.size());
  if (options.add_special && vocab_.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
  return out;
}

std::string SpmTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    if (!in_vocab(id)) continue;
    if (skip_special && is_special(id)) continue;
    std::string piece = token_bytes(id);
    // The dummy prefix the encoder added comes back as the first piece's leading space
    // (sentencepiece DecodeSentencePiece, HF Metaspace decoder / Strip(1)).
    const SpmPieceType type = type_of(id);
    const bool is_text_piece = type == SpmPieceType::NORMAL || type == SpmPieceType::USER_DEFINED ||
                               type == SpmPieceType::UNUSED;
    if (first && is_text_piece && vocab_.add_dummy_prefix && vocab_.escape_whitespaces &&
        vocab_.pieces[static_cast<size_t>(id)].piece.starts_with(kMetaSymbol)) {
      piece.erase(0, 1);
    }
    first = false;
    out += piece;
  }
  return sanitize_utf8(out);
}

std::string SpmTokenizer::token_bytes(int32_t id) const {
  if (!in_vocab(id)) return {};
  const auto& p = vocab_.pieces[static_cast<size_t>(id)];
  switch (p.type) {
    case SpmPieceType::BYTE: {
      const int b = parse_byte_piece(p.piece);
      return b >= 0 ? std::string(1, static_cast<char>(b)) : p.piece;
    }
    case SpmPieceType::CONTROL:
    case SpmPieceType::UNKNOWN:
      return p.piece;
    default:
      return vocab_.escape_whitespaces ? replace_all(p.piece, kMetaSymbol, " ") : p.piece;
  }
}

std::string SpmTokenizer::token_string(int32_t id) const {
  return in_vocab(id) ? vocab_.pieces[static_cast<size_t>(id)].piece : std::string();
}

bool SpmTokenizer::is_end_of_generation(int32_t id) const {
  return in_vocab(id) && eog_flags_[static_cast<size_t>(id)];
}

bool SpmTokenizer::is_special(int32_t id) const { return in_vocab(id) && special_flags_[static_cast<size_t>(id)]; }

}  // namespace kaiyuan
