// Pre-tokenizer regexes for GGUF `gpt2` vocabs, chosen by tokenizer.ggml.pre.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kaiyuan {

struct GgufPreTokenizer {
  std::vector<std::string> regexes;  // applied in order as Isolated splits
  bool ignore_merges = false;        // llama.cpp tokenizer_ignore_merges (Llama 3)
  bool default_add_bos = false;      // llama.cpp's default when tokenizer.ggml.add_bos_token is absent
  bool nfc = false;                  // the HF tokenizer.json of this family has an NFC normalizer
};

// False for names we do not know.
bool find_gguf_pretokenizer(std::string_view name, GgufPreTokenizer* out);
std::string supported_gguf_pretokenizers();

}  // namespace kaiyuan
