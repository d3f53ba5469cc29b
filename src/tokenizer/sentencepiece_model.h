// A minimal reader for SentencePiece's tokenizer.model (a serialized ModelProto, see
// sentencepiece/src/sentencepiece_model.proto): the pieces plus the trainer and normalizer
// settings that change how text is encoded. The file is untrusted: every varint, length and
// nesting level is checked against the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace kaiyuan {

// ModelProto.SentencePiece.Type; GGUF tokenizer.ggml.token_type uses the same numbers
// (llama.h LLAMA_TOKEN_TYPE_*).
enum class SpmPieceType : int32_t {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
};

struct SentencePieceModel {
  struct Piece {
    std::string piece;
    float score = 0.0f;
    SpmPieceType type = SpmPieceType::NORMAL;
  };
  // TrainerSpec.ModelType.
  enum class ModelType : int32_t { UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4 };

  std::vector<Piece> pieces;  // ModelProto field 1; the id of a piece is its index

  // TrainerSpec (field 2); defaults are the proto's.
  ModelType model_type = ModelType::UNIGRAM;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  int32_t unk_id = 0;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t pad_id = -1;

  // NormalizerSpec (field 3); defaults are the proto's.
  std::string normalizer_name;
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Parses a serialized ModelProto; `label` (usually the path) prefixes every error.
Result<SentencePieceModel> parse_sentencepiece_model(const uint8_t* data, size_t size, const std::string& label);
Result<SentencePieceModel> read_sentencepiece_model(const std::string& path);

}  // namespace kaiyuan
