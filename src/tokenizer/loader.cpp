// Chooses the tokenizer implementation for a model source: GGUF tokenizer.ggml.model ("llama" ->
// SentencePiece BPE, "gpt2" -> byte-level BPE), or the files present in a folder (tokenizer.json
// first, as Hugging Face's fast tokenizers prefer it, then tokenizer.model).
#include <filesystem>

#include "format/gguf.h"
#include "tokenizer/bpe.h"
#include "tokenizer/spm.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {

Result<std::unique_ptr<Tokenizer>> load_tokenizer_from_gguf(const GgufFile& gguf) {
  const GgufValue* model = gguf.get("tokenizer.ggml.model");
  if (model == nullptr) return Error(gguf.path() + ": no tokenizer (tokenizer.ggml.model is missing)");
  const std::string* name = model->as_string();
  if (name == nullptr) return Error(gguf.path() + ": tokenizer.ggml.model: expected a string");
  Result<std::unique_ptr<Tokenizer>> tokenizer = Error("unset");
  if (*name == "llama") {
    tokenizer = load_spm_from_gguf(gguf);
  } else if (*name == "gpt2") {
    tokenizer = load_bpe_from_gguf(gguf);
  } else {
    return Error(gguf.path() + ": tokenizer model '" + *name +
                 "' is not supported (supported: 'llama' SentencePiece BPE, 'gpt2' byte-level BPE)");
  }
  if (!tokenizer) return tokenizer.status().with_context(gguf.path());
  return tokenizer;
}

Result<std::unique_ptr<Tokenizer>> load_tokenizer_from_folder(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Error(dir + ": not a directory");
  const bool has_model = std::filesystem::is_regular_file(dir + "/tokenizer.model", ec);
  if (std::filesystem::is_regular_file(dir + "/tokenizer.json", ec)) {
    auto bpe = load_bpe_from_tokenizer_json(dir);
    // Llama 2-style repositories ship both files; a tokenizer.json the BPE reader cannot take
    // (SentencePiece-style Metaspace/Unigram) still has its tokenizer.model.
    if (bpe.is_ok() || !has_model) return bpe;
    auto spm = load_spm_from_folder(dir);
    if (spm.is_ok()) return spm;
    return bpe;
  }
  if (has_model) return load_spm_from_folder(dir);
  return Error(dir + ": no tokenizer.json or tokenizer.model");
}

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return load_tokenizer_from_folder(path);
  if (!std::filesystem::exists(path, ec)) return Error(path + ": no such file or directory");
  KY_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> gguf, GgufFile::open(path));
  return load_tokenizer_from_gguf(*gguf);
}

}  // namespace kaiyuan
