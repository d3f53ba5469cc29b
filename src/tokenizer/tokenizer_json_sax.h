// One-pass SAX reading of tokenizer.json: model.vocab and model.merges (most of the file: 151k
// entries each for Qwen) go straight into vectors; everything else becomes a small DOM. Avoids
// building and freeing a multi-million-node nlohmann DOM (3x faster loading).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kaiyuan {

struct TokenizerJsonDocument {
  nlohmann::json rest;  // the whole document minus model.vocab and model.merges
  bool has_vocab = false;
  bool has_merges = false;
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
};

Result<TokenizerJsonDocument> read_tokenizer_json(std::string_view text);

}  // namespace kaiyuan
