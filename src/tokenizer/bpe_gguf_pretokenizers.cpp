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

// DeepSeek LLM (deepseek-llm-7b) tokenizer.json Split sequence.
const std::vector<std::string>& deepseek_llm() {
  static const std::vector<std::string> kRegexes = {
      "[\r\n]",
      "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
      "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
      "\\s+$",
      "[一-龥ࠀ-一가-퟿]+",
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
