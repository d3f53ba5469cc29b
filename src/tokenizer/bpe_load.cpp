// The two byte-level BPE loaders declared in bpe.h: a tokenizer.json folder and a GGUF `gpt2` vocab.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "format/gguf.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_gguf_pretokenizers.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/tokenizer_json.h"

namespace kaiyuan {

namespace {

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path.string() + ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Error(path.string() + ": read failed");
  return buffer.str();
}

// A GGUF array of strings (elem STRING) or of integers that fit int64 (elem I32), or an error
// naming the key; nullptr when an optional key is absent.
Result<const GgufValue*> gguf_array(const GgufFile& gguf, std::string_view key, GgufType elem, bool required) {
  const GgufValue* value = gguf.get(key);
  if (value == nullptr) {
    if (required) return Error(std::string(key) + ": missing");
    return static_cast<const GgufValue*>(nullptr);
  }
  if (value->type != GgufType::ARRAY) return Error(std::string(key) + ": expected an array");
  for (size_t k = 0; k < value->size(); ++k) {
    const bool ok = elem == GgufType::STRING ? value->string_at(k).has_value() : value->int_at(k).has_value();
    if (!ok) return Error(std::string(key) + ": unexpected element type");
  }
  return value;
}

int32_t gguf_token_id(const GgufFile& gguf, std::string_view key, size_t n_tokens) {
  const auto id = gguf.get_int_or(key);
  return id && *id >= 0 && static_cast<size_t>(*id) < n_tokens ? static_cast<int32_t>(*id) : -1;
}

// llama.cpp llama_token_type (llama.h).
constexpr int64_t kTokenTypeUnknown = 2, kTokenTypeControl = 3, kTokenTypeUserDefined = 4;

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_bpe_from_tokenizer_json(const std::string& dir) {
  const std::filesystem::path folder(dir);
  KY_ASSIGN_OR_RETURN(std::string json_text, read_text_file(folder / "tokenizer.json"));
  std::string config_text;
  if (std::filesystem::exists(folder / "tokenizer_config.json")) {
    KY_ASSIGN_OR_RETURN(config_text, read_text_file(folder / "tokenizer_config.json"));
  }
  KY_ASSIGN_OR_RETURN(BpeTokenizerSpec spec,
                      parse_bpe_tokenizer_json(json_text, config_text, (folder / "tokenizer.json").string()));
  return make_bpe_tokenizer(std::move(spec));
}

Result<std::unique_ptr<Tokenizer>> load_bpe_from_gguf(const GgufFile& gguf) {
  const std::string label = gguf.path();
  const auto fail = [&](const Status& status) { return status.with_context(label); };
  auto tokens = gguf_array(gguf, "tokenizer.ggml.tokens", GgufType::STRING, true);
  if (!tokens) return fail(tokens.status());
  auto types = gguf_array(gguf, "tokenizer.ggml.token_type", GgufType::I32, false);
  if (!types) return fail(types.status());
  auto merges = gguf_array(gguf, "tokenizer.ggml.merges", GgufType::STRING, true);
  if (!merges) return fail(merges.status());
  const size_t n_tokens = (*tokens)->size();
  if (*types && (*types)->size() != n_tokens) {
    return Error(label + ": tokenizer.ggml.token_type has " + std::to_string((*types)->size()) + " entries for " +
                 std::to_string(n_tokens) + " tokens");
  }
  if (n_tokens > static_cast<size_t>(INT32_MAX)) return Error(label + ": too many tokens");

  const GgufValue* pre_value = gguf.get("tokenizer.ggml.pre");
  const std::string pre_name = pre_value && pre_value->as_string() ? *pre_value->as_string() : "default";
  GgufPreTokenizer pre;
  if (!find_gguf_pretokenizer(pre_name, &pre)) {
    return Error(label + ": tokenizer.ggml.pre \"" + pre_name + "\" is not supported (supported: " +
                 supported_gguf_pretokenizers() + ")");
  }

  BpeTokenizerSpec spec;
  spec.label = label;
  spec.model.ignore_merges = pre.ignore_merges;
  spec.model.drop_invalid_merges = true;
  spec.model.vocab.reserve(n_tokens);
  for (size_t id = 0; id < n_tokens; ++id) {
    const std::string text(*(*tokens)->string_at(id));
    spec.model.vocab.emplace_back(text, static_cast<int32_t>(id));
    const int64_t type = *types ? *(*types)->int_at(id) : 1;
    // llama.cpp tokenizer_st_partition matches control and user-defined tokens in the text; only
    // control tokens are "special" (skipped by decode, off when parse_special is false).
    if (type == kTokenTypeControl || type == kTokenTypeUserDefined || type == kTokenTypeUnknown) {
      AddedToken token;
      token.id = static_cast<int32_t>(id);
      token.content = text;
      token.special = type != kTokenTypeUserDefined;
      spec.added_tokens.push_back(std::move(token));
    }
  }
  spec.model.merges.reserve((*merges)->size());
  for (size_t i = 0; i < (*merges)->size(); ++i) {
    const std::string_view merge = *(*merges)->string_at(i);
    // llama-vocab.cpp: the separator is the first space after the first character.
    const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
    if (space == std::string::npos) {
      return Error(label + ": tokenizer.ggml.merges[" + std::to_string(i) + "] \"" + std::string(merge) + "\" has no space");
    }
    spec.model.merges.emplace_back(std::string(merge.substr(0, space)), std::string(merge.substr(space + 1)));
  }
  auto pre_tokenizer = PreTokenizer::from_regexes(pre.regexes);
  if (!pre_tokenizer) return fail(pre_tokenizer.status());
  spec.pre_tokenizer = std::move(pre_tokenizer).value();
  if (pre.nfc) spec.normalizer = Normalizer::nfc();

  spec.bos_id = gguf_token_id(gguf, "tokenizer.ggml.bos_token_id", n_tokens);
  spec.eos_id = gguf_token_id(gguf, "tokenizer.ggml.eos_token_id", n_tokens);
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    const int32_t id = gguf_token_id(gguf, key, n_tokens);
    if (id >= 0) spec.end_of_generation_ids.push_back(id);
  }
  const GgufValue* add_bos = gguf.get("tokenizer.ggml.add_bos_token");
  const GgufValue* add_eos = gguf.get("tokenizer.ggml.add_eos_token");
  const bool bos = add_bos && add_bos->as_bool() ? *add_bos->as_bool() : pre.default_add_bos;
  const bool eos = add_eos && add_eos->as_bool() ? *add_eos->as_bool() : false;
  if (bos && spec.bos_id >= 0) spec.prefix_ids.push_back(spec.bos_id);
  if (eos && spec.eos_id >= 0) spec.suffix_ids.push_back(spec.eos_id);
  return make_bpe_tokenizer(std::move(spec));
}

}  // namespace kaiyuan
