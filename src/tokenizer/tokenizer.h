// Tokenizer: text <-> token ids. Immutable after loading and safe to share between threads.
// Implementations: SentencePiece-style BPE (GGUF `llama` vocab, tokenizer.model) and byte-level
// BPE (tokenizer.json, GGUF `gpt2` vocab).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kaiyuan {

class GgufFile;

struct EncodeOptions {
  // Add what the tokenizer's configuration adds by default (BOS for Llama/DeepSeek...), as HF
  // `add_special_tokens=True`. False = HF `add_special_tokens=False`.
  bool add_special = false;
  // Match special/added tokens written in the text ("<|im_start|>") as single ids (HF default).
  bool parse_special = true;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const = 0;
  // Exact text for ids (SentencePiece: leading dummy-prefix space of the first piece removed, as
  // HF/sentencepiece decode). Ids outside the vocab are skipped.
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;

  // The raw bytes one token contributes to the text stream, before any whole-sequence clean-up
  // (SPM: '▁' -> ' ', "<0x0A>" -> "\n"; byte-level BPE: the unmapped bytes). May be part of a
  // UTF-8 character.
  virtual std::string token_bytes(int32_t id) const = 0;
  virtual std::string token_string(int32_t id) const = 0;  // the vocab entry itself ("▁the", "Ġthe")

  virtual int32_t n_vocab() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 when none
  virtual int32_t eos_id() const = 0;  // -1 when none
  // End-of-generation ids (EOS, <|im_end|>, <|eot_id|>, ...).
  virtual bool is_end_of_generation(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;  // control/special tokens (skipped by skip_special)
};

// Loaders: a GGUF file with tokenizer.ggml.* metadata; a folder with tokenizer.json or
// tokenizer.model (+ tokenizer_config.json / special_tokens_map.json).
Result<std::unique_ptr<Tokenizer>> load_tokenizer_from_gguf(const GgufFile& gguf);
Result<std::unique_ptr<Tokenizer>> load_tokenizer_from_folder(const std::string& dir);
// Either of the above, chosen by what `path` is.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path);

// UTF-8 helpers shared by the tokenizers and StreamingDecoder (streaming_decoder.cpp).
// Each byte that does not belong to a well-formed UTF-8 character becomes U+FFFD, one per byte
// (sentencepiece's and HF's ByteFallback decoding of invalid byte pieces).
std::string sanitize_utf8(std::string_view bytes);
// How many bytes at the end of `bytes` (0..3) start a well-formed character that is not finished.
size_t incomplete_utf8_tail(std::string_view bytes);

// Emits text as tokens arrive and never half of a UTF-8 character. Text of ids appended so far is
// always exactly decode(all ids) minus what was already emitted (so SPM's leading-space rule and
// byte-fallback sequences come out right).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = true);
  // Context that is already on screen (e.g. the prompt): affects spacing, emits nothing.
  void prime(std::span<const int32_t> ids);
  std::string push(int32_t id);  // newly completed text, possibly empty
  std::string flush();           // whatever is left (incomplete UTF-8 replaced by U+FFFD)

 private:
  // The raw bytes `ids` contribute (token_bytes, specials dropped when skipped).
  std::string raw_bytes(size_t begin, size_t end) const;
  void move_anchor();

  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  // Only ids_[anchor_..] are decoded on each push: decode(ids_[anchor_..committed_)) == base_ is
  // what is already on screen from the anchor on; ids_[committed_..] are held back because they
  // end inside a UTF-8 character. The anchor is a token whose own text is non-empty, so decoding
  // from it reproduces the whole-sequence decode (the leading-space rule applies to it alone).
  size_t anchor_ = 0;
  size_t committed_ = 0;
  std::string base_;
};

}  // namespace kaiyuan
