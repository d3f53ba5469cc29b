// SentencePiece-style BPE tokenizer (Llama 1/2, Mistral, TinyLlama...): the GGUF `llama` vocab
// and tokenizer.model. Text is escaped (' ' -> '▁', dummy-prefix '▁'), split into UTF-8
// characters, and adjacent symbols are merged greedily by the score of the merged piece
// (sentencepiece bpe_model.cc, llama.cpp llm_tokenizer_spm); characters that never form a piece
// fall back to <0xNN> byte pieces.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/sentencepiece_model.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {

// Everything an SpmTokenizer needs, filled by a loader (GGUF metadata or tokenizer.model +
// tokenizer_config.json).
struct SpmVocab {
  std::vector<SentencePieceModel::Piece> pieces;  // id = index

  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  std::vector<int32_t> end_of_generation_ids;  // besides eos_id (EOT, EOM, generation_config)
  std::vector<int32_t> extra_special_ids;      // marked special by the configuration

  bool add_bos = true;
  bool add_eos = false;
  bool add_dummy_prefix = true;
  // sentencepiece normalizer: drop leading/trailing spaces and collapse runs (tokenizer.model's
  // normalizer_spec says; llama.cpp never does it for GGUF unless the metadata asks).
  bool remove_extra_whitespaces = false;
  bool escape_whitespaces = true;
  bool byte_fallback = true;
  // Whether text right after a special token gets its own dummy prefix (llama.cpp always; HF
  // LlamaTokenizer only with legacy=true, its default).
  bool dummy_prefix_after_special = true;
};

class SpmTokenizer final : public Tokenizer {
 public:
  // Checks the vocab (ids in range, special ids) and builds the lookup tables.
  static Result<std::unique_ptr<SpmTokenizer>> create(SpmVocab vocab);

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string token_bytes(int32_t id) const override;
  std::string token_string(int32_t id) const override;
  int32_t n_vocab() const override { return static_cast<int32_t>(vocab_.pieces.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }
  bool is_end_of_generation(int32_t id) const override;
  bool is_special(int32_t id) const override;

  const SpmVocab& vocab() const { return vocab_; }

 private:
  explicit SpmTokenizer(SpmVocab vocab);
  bool in_vocab(int32_t id) const { return id >= 0 && id < n_vocab(); }
  SpmPieceType type_of(int32_t id) const { return vocab_.pieces[static_cast<size_t>(id)].type; }
  // One run of ordinary text (no special tokens in it) -> ids appended to `out`.
  void encode_text(std::string_view text, bool add_prefix, std::vector<int32_t>* out) const;
  std::string normalize(std::string_view text, bool add_prefix) const;
  // A symbol left after merging that is not a usable piece: its bytes or <unk>.
  void emit_unknown(std::string_view symbol, std::vector<int32_t>* out) const;

  SpmVocab vocab_;
  // Pieces that merges may produce (sentencepiece: NORMAL, USER_DEFINED, UNUSED); views into
  // vocab_.pieces, which never changes after construction.
  std::unordered_map<std::string_view, int32_t> mergeable_;
  std::array<int32_t, 256> byte_ids_;  // <0xNN> piece per byte, -1 if absent
  // Tokens matched verbatim in text: user-defined always, control/unknown when parse_special.
  struct SpecialText {
    std::string_view text;
    int32_t id;
    bool needs_parse_special;
  };
  std::vector<SpecialText> specials_;                      // longest first
  std::array<std::vector<uint32_t>, 256> specials_by_byte_;  // indices into specials_ by first byte
  std::vector<bool> special_flags_;    // is_special per id
  std::vector<bool> eog_flags_;
};

// Loaders (spm_gguf.cpp, spm_folder.cpp).
Result<std::unique_ptr<Tokenizer>> load_spm_from_gguf(const GgufFile& gguf);
// A folder with tokenizer.model, optionally tokenizer_config.json, special_tokens_map.json and
// generation_config.json.
Result<std::unique_ptr<Tokenizer>> load_spm_from_folder(const std::string& dir);

}  // namespace kaiyuan
