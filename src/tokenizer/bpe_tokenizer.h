// The byte-level BPE tokenizer assembled from plain data, whatever file it came from
// (tokenizer_json.cpp and bpe_gguf.cpp fill a BpeTokenizerSpec).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "tokenizer/bpe_added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {

struct BpeTokenizerSpec {
  std::string label;  // file name, for messages
  BpeModelSpec model;
  std::vector<AddedToken> added_tokens;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  // What EncodeOptions::add_special adds around the ids (HF post_processor, GGUF add_bos/add_eos).
  std::vector<int32_t> prefix_ids;
  std::vector<int32_t> suffix_ids;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  std::vector<int32_t> end_of_generation_ids;  // besides eos_id; tokens named like EOG are added too
};

Result<std::unique_ptr<Tokenizer>> make_bpe_tokenizer(BpeTokenizerSpec spec);

}  // namespace kaiyuan
