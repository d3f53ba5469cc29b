// SpmVocab from GGUF metadata (tokenizer.ggml.model == "llama"), with llama.cpp's defaults
// (llama-vocab.cpp llama_vocab::impl::load): BOS 1, EOS 2, UNK 0, add BOS, no EOS, space prefix.
#include "format/gguf.h"
#include "tokenizer/spm.h"

namespace kaiyuan {
namespace {

// An optional token id; GGUF writers store "none" as -1 or as UINT32_MAX.
Status read_token_id(const GgufFile& gguf, std::string_view key, int32_t n_vocab, int32_t* id) {
  const GgufValue* v = gguf.get(key);
  if (v == nullptr) return Status::ok();
  const std::optional<int64_t> value = v->as_int();
  if (!value) return Error(std::string(key) + ": expected an integer token id");
  if (*value == -1 || *value == 0xFFFFFFFFll) {
    *id = -1;
    return Status::ok();
  }
  if (*value < 0 || *value >= n_vocab) {
    return Error(std::string(key) + ": token id " + std::to_string(*value) + " is outside the vocabulary of " +
                 std::to_string(n_vocab));
  }
  *id = static_cast<int32_t>(*value);
  return Status::ok();
}

Status read_flag(const GgufFile& gguf, std::string_view key, bool* flag) {
  const GgufValue* v = gguf.get(key);
  if (v == nullptr) return Status::ok();
  const std::optional<bool> value = v->as_bool();
  if (!value) return Error(std::string(key) + ": expected a bool");
  *flag = *value;
  return Status::ok();
}

const GgufValue* find_array(const GgufFile& gguf, std::string_view key, size_t n, Status* status) {
  const GgufValue* v = gguf.get(key);
  if (v == nullptr) return nullptr;
  if (v->type != GgufType::ARRAY) {
    *status = Error(std::string(key) + ": expected an array");
  } else if (v->size() != n) {
    *status = Error(std::string(key) + ": " + std::to_string(v->size()) + " entries for " + std::to_string(n) +
                    " tokens");
  }
  return v;
}

Result<SpmVocab> vocab_from_gguf(const GgufFile& gguf) {
  const GgufValue* tokens = gguf.get("tokenizer.ggml.tokens");
  if (tokens == nullptr) return Error("tokenizer.ggml.tokens is missing");
  if (tokens->type != GgufType::ARRAY) return Error("tokenizer.ggml.tokens: expected an array of strings");
  const size_t n = tokens->size();
  if (n == 0) return Error("tokenizer.ggml.tokens is empty");
  if (n > static_cast<size_t>(INT32_MAX)) return Error("tokenizer.ggml.tokens: too many tokens");

  SpmVocab vocab;
  vocab.pieces.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::optional<std::string_view> s = tokens->string_at(i);
    if (!s) return Error("tokenizer.ggml.tokens[" + std::to_string(i) + "]: expected a string");
    vocab.pieces[i].piece = std::string(*s);
  }
  Status status;
  if (const GgufValue* scores = find_array(gguf, "tokenizer.ggml.scores", n, &status); scores && status) {
    for (size_t i = 0; i < n; ++i) {
      const std::optional<double> score = scores->float_at(i);
      if (!score) return Error("tokenizer.ggml.scores[" + std::to_string(i) + "]: expected a number");
      vocab.pieces[i].score = static_cast<float>(*score);
    }
  }
  KY_RETURN_IF_ERROR(status);
  if (const GgufValue* types = find_array(gguf, "tokenizer.ggml.token_type", n, &status); types && status) {
    for (size_t i = 0; i < n; ++i) {
      const std::optional<int64_t> type = types->int_at(i);
      if (!type || *type < 1 || *type > 6) {
        return Error("tokenizer.ggml.token_type[" + std::to_string(i) + "]: expected a token type 1..6");
      }
      vocab.pieces[i].type = static_cast<SpmPieceType>(*type);
    }
  }
  KY_RETURN_IF_ERROR(status);

  const auto n_vocab = static_cast<int32_t>(n);
  vocab.bos_id = n_vocab > 1 ? 1 : -1;
  vocab.eos_id = n_vocab > 2 ? 2 : -1;
  vocab.unk_id = 0;
  KY_RETURN_IF_ERROR(read_token_id(gguf, "tokenizer.ggml.bos_token_id", n_vocab, &vocab.bos_id));
  KY_RETURN_IF_ERROR(read_token_id(gguf, "tokenizer.ggml.eos_token_id", n_vocab, &vocab.eos_id));
  KY_RETURN_IF_ERROR(read_token_id(gguf, "tokenizer.ggml.unknown_token_id", n_vocab, &vocab.unk_id));
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    int32_t id = -1;
    KY_RETURN_IF_ERROR(read_token_id(gguf, key, n_vocab, &id));
    if (id >= 0) vocab.end_of_generation_ids.push_back(id);
  }
  KY_RETURN_IF_ERROR(read_flag(gguf, "tokenizer.ggml.add_bos_token", &vocab.add_bos));
  KY_RETURN_IF_ERROR(read_flag(gguf, "tokenizer.ggml.add_eos_token", &vocab.add_eos));
  KY_RETURN_IF_ERROR(read_flag(gguf, "tokenizer.ggml.add_space_prefix", &vocab.add_dummy_prefix));
  KY_RETURN_IF_ERROR(read_flag(gguf, "tokenizer.ggml.remove_extra_whitespaces", &vocab.remove_extra_whitespaces));
  // llama.cpp always escapes spaces, falls back to bytes, and gives text after a special token
  // its own space prefix (llama_vocab::impl::tokenize, LLAMA_VOCAB_TYPE_SPM).
  vocab.escape_whitespaces = true;
  vocab.byte_fallback = true;
  vocab.dummy_prefix_after_special = true;
  return vocab;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_spm_from_gguf(const GgufFile& gguf) {
  KY_ASSIGN_OR_RETURN(SpmVocab vocab, vocab_from_gguf(gguf));
  KY_ASSIGN_OR_RETURN(std::unique_ptr<SpmTokenizer> tokenizer, SpmTokenizer::create(std::move(vocab)));
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

}  // namespace kaiyuan
