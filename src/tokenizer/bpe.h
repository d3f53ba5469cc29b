// Byte-level BPE tokenizer (tokenizer.json, GGUF `gpt2` vocab): the loaders the dispatch in
// loader.cpp calls. Implemented in bpe*.cpp.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {

// A folder with tokenizer.json (+ tokenizer_config.json).
Result<std::unique_ptr<Tokenizer>> load_bpe_from_tokenizer_json(const std::string& dir);
// A GGUF file whose tokenizer.ggml.model is "gpt2".
Result<std::unique_ptr<Tokenizer>> load_bpe_from_gguf(const GgufFile& gguf);

}  // namespace kaiyuan
