// Byte-level BPE encode/decode, HF tokenizers' pipeline order (tokenizer/mod.rs encode_single_sequence):
// added tokens in the raw text -> normalizer -> normalized added tokens -> pre-tokenizer -> BPE ->
// post-processor. Input that is not valid UTF-8 is first repaired with U+FFFD per maximal ill-formed
// subpart (utf8::sanitize): HF only ever sees valid Unicode strings, and this is what a Python caller
// gets from bytes.decode("utf-8", errors="replace").
#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "tokenizer/bpe_byte_level.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/unicode_utf8.h"

namespace kaiyuan {

namespace {

// Tokens that end a turn or the text in the families we serve (chat templates emit them).
constexpr const char* kEndOfGenerationNames[] = {
    "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|endoftext|>",
    "<|end|>", "<end_of_turn>",
};

// Ids of pre-tokens already merged during one encode call. Text repeats words constantly, and
// merging is most of the cost of encoding (HF tokenizers' BPE keeps a word cache for the same
// reason). Per call, so the shared tokenizer stays immutable and thread-safe without locks;
// bounded, so a huge input cannot grow it without limit.
class PieceCache {
 public:
  // Pieces longer than this are merged every time (HF models/bpe MAX_LENGTH is 256 characters).
  static constexpr size_t kMaxPieceBytes = 256;
  static constexpr size_t kMaxEntries = size_t{1} << 14;  // a few MB at most (HF caches 10000 words)

  // Appends the cached ids of `piece` to `out`; false when it is not cached.
  bool append(std::string_view piece, std::vector<int32_t>& out) const {
    auto it = ranges_.find(piece);
    if (it == ranges_.end()) return false;
    out.insert(out.end(), ids_.begin() + it->second.first, ids_.begin() + it->second.second);
    return true;
  }
  // Records that `piece` encodes to `ids`.
  void insert(std::string_view piece, std::span<const int32_t> ids) {
    if (piece.size() > kMaxPieceBytes || ranges_.size() >= kMaxEntries) return;
    const uint32_t begin = static_cast<uint32_t>(ids_.size());
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    ranges_.emplace(std::string(piece), std::make_pair(begin, static_cast<uint32_t>(ids_.size())));
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, Hash, std::equal_to<>> ranges_;
  std::vector<int32_t> ids_;  // the ids of every cached piece, back to back
};

// Per-call working memory of encode.
struct EncodeScratch {
  PreTokenizer::Pieces pieces;
  BpeModel::Scratch bpe;
  PieceCache cache;
};

class BpeTokenizer final : public Tokenizer {
 public:
  static Result<std::unique_ptr<Tokenizer>> create(BpeTokenizerSpec spec);

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override;
  std::string token_bytes(int32_t id) const override { return in_range(id) ? bytes_[id] : std::string(); }
  std::string token_string(int32_t id) const override { return in_range(id) ? strings_[id] : std::string(); }
  int32_t n_vocab() const override { return static_cast<int32_t>(strings_.size()); }
  int32_t bos_id() const override { return bos_id_; }
  int32_t eos_id() const override { return eos_id_; }
  bool is_end_of_generation(int32_t id) const override { return in_range(id) && end_of_generation_[id]; }
  bool is_special(int32_t id) const override { return in_range(id) && special_[id]; }

 private:
  BpeTokenizer() = default;
  bool in_range(int32_t id) const { return id >= 0 && id < n_vocab(); }
  void encode_normalized(std::string_view text, bool parse_special, std::vector<int32_t>& ids,
                         EncodeScratch& scratch) const;
  void encode_piece(std::string_view piece, std::vector<int32_t>& ids, EncodeScratch& scratch) const;

  BpeModel model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  AddedTokenMatcher raw_added_;         // added tokens with normalized = false
  AddedTokenMatcher normalized_added_;  // added tokens with normalized = true
  std::vector<int32_t> prefix_ids_, suffix_ids_;
  std::vector<std::string> strings_;  // vocab entry or added-token content, by id
  std::vector<std::string> bytes_;    // raw bytes each id stands for
  std::vector<bool> special_, end_of_generation_;
  int32_t bos_id_ = -1, eos_id_ = -1;
};

Result<std::unique_ptr<Tokenizer>> BpeTokenizer::create(BpeTokenizerSpec spec) {
  const std::string& label = spec.label;
  if (!spec.pre_tokenizer.has_byte_level()) {
    return Error(label + ": not a byte-level BPE tokenizer (the pre_tokenizer has no ByteLevel step)");
  }
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer());
  int64_t max_id = -1;
  for (const auto& [text, id] : spec.model.vocab) {
    if (id < 0) return Error(label + ": vocab entry \"" + text + "\" has negative id " + std::to_string(id));
    max_id = std::max<int64_t>(max_id, id);
  }
  for (const AddedToken& token : spec.added_tokens) {
    if (token.id < 0) return Error(label + ": added token \"" + token.content + "\" has negative id");
    max_id = std::max<int64_t>(max_id, token.id);
  }
  // Ids index dense tables; a vocab far sparser than its largest id is a broken file.
  const size_t n_entries = spec.model.vocab.size() + spec.added_tokens.size();
  if (max_id >= static_cast<int64_t>(4 * n_entries + 1024)) {
    return Error(label + ": token id " + std::to_string(max_id) + " is far beyond the " +
                 std::to_string(n_entries) + " tokens defined");
  }
  const size_t n_vocab = static_cast<size_t>(max_id + 1);
  t->strings_.assign(n_vocab, std::string());
  t->bytes_.assign(n_vocab, std::string());
  t->special_.assign(n_vocab, false);
  t->end_of_generation_.assign(n_vocab, false);
  // HF ByteLevel decoder: a token whose characters are all byte-mapped becomes those bytes,
  // anything else (e.g. "<｜begin▁of▁sentence｜>") its own UTF-8.
  const auto set_token = [&](int32_t id, const std::string& text) {
    t->strings_[id] = text;
    auto bytes = byte_level::unmap(text);
    t->bytes_[id] = bytes ? std::move(*bytes) : text;
  };
  for (const auto& [text, id] : spec.model.vocab) set_token(id, text);
  for (const AddedToken& token : spec.added_tokens) {
    set_token(token.id, token.content);  // HF decode looks added tokens up first
    t->special_[token.id] = token.special;
  }

  KY_ASSIGN_OR_RETURN(t->model_, BpeModel::build(spec.model));
  std::vector<AddedToken> raw_tokens, normalized_tokens;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (AddedToken& token : spec.added_tokens) {
    // Two passes as HF: normalized = false tokens in the raw text, the others in normalized text.
    if (token.normalized) {
      normalized_patterns.push_back(spec.normalizer.apply(utf8::sanitize(token.content)));
      normalized_tokens.push_back(std::move(token));
    } else {
      raw_patterns.push_back(token.content);
      raw_tokens.push_back(std::move(token));
    }
  }
  KY_ASSIGN_OR_RETURN(t->raw_added_, AddedTokenMatcher::build(std::move(raw_tokens), std::move(raw_patterns)));
  KY_ASSIGN_OR_RETURN(t->normalized_added_,
                      AddedTokenMatcher::build(std::move(normalized_tokens), std::move(normalized_patterns)));
  t->normalizer_ = std::move(spec.normalizer);
  t->pre_tokenizer_ = std::move(spec.pre_tokenizer);

  for (int32_t id : spec.prefix_ids) {
    if (!t->in_range(id)) return Error(label + ": post-processor token id " + std::to_string(id) + " out of range");
  }
  for (int32_t id : spec.suffix_ids) {
    if (!t->in_range(id)) return Error(label + ": post-processor token id " + std::to_string(id) + " out of range");
  }
  t->prefix_ids_ = std::move(spec.prefix_ids);
  t->suffix_ids_ = std::move(spec.suffix_ids);
  t->bos_id_ = t->in_range(spec.bos_id) ? spec.bos_id : -1;
  t->eos_id_ = t->in_range(spec.eos_id) ? spec.eos_id : -1;
  if (t->eos_id_ >= 0) t->end_of_generation_[t->eos_id_] = true;
  for (int32_t id : spec.end_of_generation_ids) {
    if (t->in_range(id)) t->end_of_generation_[id] = true;
  }
  const std::unordered_set<std::string> eog_names(std::begin(kEndOfGenerationNames), std::end(kEndOfGenerationNames));
  for (size_t id = 0; id < n_vocab; ++id) {
    if (eog_names.count(t->strings_[id])) t->end_of_generation_[id] = true;
  }
  return std::unique_ptr<Tokenizer>(std::move(t));
}

void BpeTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& ids, EncodeScratch& scratch) const {
  if (scratch.cache.append(piece, ids)) return;
  const size_t first = ids.size();
  model_.encode(piece, ids, scratch.bpe);
  scratch.cache.insert(piece, std::span<const int32_t>(ids).subspan(first));
}

void BpeTokenizer::encode_normalized(std::string_view text, bool parse_special, std::vector<int32_t>& ids,
                                     EncodeScratch& scratch) const {
  const std::string normalized = normalizer_.apply(text);
  for (const auto& segment : normalized_added_.split(normalized, parse_special)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    const std::string_view part = std::string_view(normalized).substr(segment.start, segment.end - segment.start);
    pre_tokenizer_.split(part, scratch.pieces);
    for (std::string_view piece : scratch.pieces.views) encode_piece(piece, ids, scratch);
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::sanitize(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (options.add_special) ids.insert(ids.end(), prefix_ids_.begin(), prefix_ids_.end());
  EncodeScratch scratch;
  for (const auto& segment : raw_added_.split(text, options.parse_special)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
    } else {
      encode_normalized(text.substr(segment.start, segment.end - segment.start), options.parse_special, ids,
                        scratch);
    }
  }
  if (options.add_special) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (!in_range(id) || (skip_special && special_[id])) continue;
    bytes += bytes_[id];
  }
  // HF ByteLevel decoder: String::from_utf8_lossy over the concatenated bytes.
  return utf8::sanitize(bytes);
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> make_bpe_tokenizer(BpeTokenizerSpec spec) {
  return BpeTokenizer::create(std::move(spec));
}

}  // namespace kaiyuan
