// tokenizer.ggml.pre -> pre-tokenizer, after llama.cpp src/llama-vocab.cpp (llm_tokenizer_bpe and
// the pre-type table in llama_vocab::impl::load). Where llama.cpp rewrote a tokenizer.json regex for
// its own engine (e.g. (?i:'s|...) spelled out as '[sS]...), we use the original tokenizer.json
// pattern that llama.cpp quotes in its comments: PCRE2 runs it as written, which is what HF does.
#include "tokenizer/bpe_gguf_pretokenizers.h"

namespace kaiyuan {

namespace {

// Qwen2/2.5/3 tokenizer.json Split pattern (\p{N} one digit at a time).
constexpr const char* kQwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
// Llama 3 tokenizer.json Split pattern (up to three digits).
constexpr const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// DeepSeek LLM (deepseek-llm-7b) tokenizer.json Split sequence. Non-ASCII characters are written as
// PCRE2 \x{...} escapes: the class holds compatibility characters (U+212A KELVIN SIGN, U+2126 OHM SIGN,
// U+1FBE...) that an editor or tool applying NFC would silently change.
const std::vector<std::string>& deepseek_llm() {
  static const std::vector<std::string> kRegexes = {
      "[\r\n]",
      "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
      "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}"
      "\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}"
      "\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
      "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}"
      "\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}"
      "\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
      "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}"
      "\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"
      "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}"
      "\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"
      "\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}"
      "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}"
      "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}"
      "\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}"
      "\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}"
      "\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
      "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
      "\\s+$",
      "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
      "\\p{N}+",
  };
  return kRegexes;
}

// DeepSeek Coder tokenizer.json Split sequence.
const std::vector<std::string>& deepseek_coder() {
  static const std::vector<std::string> kRegexes = {
      "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}",
  };
  return kRegexes;
}

// DeepSeek-V3/R1 tokenizer.json Split sequence.
const std::vector<std::string>& deepseek_v3() {
  static const std::vector<std::string> kRegexes = {
      "\\p{N}{1,3}",
      "[一-龥぀-ゟ゠-ヿ]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|"
      "\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
  };
  return kRegexes;
}

}  // namespace

bool find_gguf_pretokenizer(std::string_view name, GgufPreTokenizer* out) {
  *out = GgufPreTokenizer();
  if (name == "qwen2" || name == "deepseek-r1-qwen" || name == "stablelm2") {
    out->regexes = {kQwen2};
    out->nfc = name != "stablelm2";
  } else if (name == "llama3" || name == "llama-v3" || name == "llama-bpe") {
    out->regexes = {kLlama3};
    out->ignore_merges = true;
    out->default_add_bos = true;
  } else if (name == "deepseek-llm") {
    out->regexes = deepseek_llm();
  } else if (name == "deepseek-coder") {
    out->regexes = deepseek_coder();
  } else if (name == "deepseek-v3") {
    out->regexes = deepseek_v3();
  } else if (name == "gpt-2" || name == "gpt2") {
    out->regexes = {kGpt2};
  } else {
    return false;
  }
  return true;
}

std::string supported_gguf_pretokenizers() {
  return "qwen2, deepseek-r1-qwen, stablelm2, llama3, llama-v3, llama-bpe, deepseek-llm, deepseek-coder, "
         "deepseek-v3, gpt-2";
}

}  // namespace kaiyuan
