// Reads a Hugging Face tokenizer.json (+ tokenizer_config.json) describing a byte-level BPE
// tokenizer into a BpeTokenizerSpec. Follows the HF tokenizers semantics of each section; anything
// it does not implement is an error naming the section and type, never a silent mis-tokenization.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/bpe_tokenizer.h"

namespace kaiyuan {

// `config_json` may be empty (no tokenizer_config.json). `label` prefixes messages.
Result<BpeTokenizerSpec> parse_bpe_tokenizer_json(std::string_view tokenizer_json, std::string_view config_json,
                                                  const std::string& label);

}  // namespace kaiyuan
