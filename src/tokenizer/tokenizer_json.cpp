// tokenizer.json sections: "model" (BPE vocab/merges/ignore_merges), "added_tokens", "normalizer",
// "pre_tokenizer", "post_processor" (what add_special_tokens=True adds) and "decoder" (must be
// ByteLevel). tokenizer_config.json gives bos/eos names and may add tokens (added_tokens_decoder).
//
// add_bos_token/add_eos_token in tokenizer_config.json are not applied: the tokenizers library
// (and transformers.js, our golden reference) adds exactly what the post_processor says. Python's
// LlamaTokenizerFast would rebuild the post-processor from them (DeepSeek-V3 would then get a BOS);
// its chat template writes the BOS itself.
#include "tokenizer/tokenizer_json.h"

#include "tokenizer/tokenizer_json_sax.h"

#include <nlohmann/json.hpp>

#include <unordered_map>

namespace kaiyuan {

namespace {

using nlohmann::json;

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

bool bool_member(const json& object, const char* key, bool fallback) {
  const json* value = member(object, key);
  return value && value->is_boolean() ? value->get<bool>() : fallback;
}

Status parse_model(const json& model, TokenizerJsonDocument& doc, BpeModelSpec& spec) {
  if (!model.is_object()) return Error("\"model\" is missing or not an object");
  const json* type = member(model, "type");
  if (type && (!type->is_string() || type->get<std::string>() != "BPE")) {
    return Error("model type " + type->dump() + " is not BPE");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json* affix = member(model, key);
    if (affix && !affix->is_null() && !(affix->is_string() && affix->get_ref<const std::string&>().empty())) {
      return Error(std::string("model.") + key + " is not supported for byte-level BPE");
    }
  }
  if (bool_member(model, "byte_fallback", false)) return Error("model.byte_fallback is not supported for byte-level BPE");
  spec.ignore_merges = bool_member(model, "ignore_merges", false);

  if (!doc.has_vocab) return Error("model.vocab is missing or not an object");
  if (!doc.has_merges) return Error("model.merges is missing or not an array");
  spec.vocab = std::move(doc.vocab);
  spec.merges = std::move(doc.merges);
  return Status::ok();
}

Result<AddedToken> parse_added_token(const json& entry, int64_t id) {
  const json* content = member(entry, "content");
  if (!content || !content->is_string()) return Error("added token " + std::to_string(id) + " has no string content");
  if (id < 0 || id > INT32_MAX) return Error("added token \"" + content->get<std::string>() + "\" has id out of range");
  AddedToken token;
  token.id = static_cast<int32_t>(id);
  token.content = content->get<std::string>();
  token.special = bool_member(entry, "special", false);
  token.lstrip = bool_member(entry, "lstrip", false);
  token.rstrip = bool_member(entry, "rstrip", false);
  token.normalized = bool_member(entry, "normalized", !token.special);  // HF default: !special
  token.single_word = bool_member(entry, "single_word", false);
  return token;
}

Status parse_added_tokens(const json& root, BpeTokenizerSpec& spec) {
  const json* added = member(root, "added_tokens");
  if (!added || added->is_null()) return Status::ok();
  if (!added->is_array()) return Error("\"added_tokens\" is not an array");
  for (const json& entry : *added) {
    const json* id = member(entry, "id");
    if (!id || !id->is_number_integer()) return Error("an added token has no integer id");
    KY_ASSIGN_OR_RETURN(AddedToken token, parse_added_token(entry, id->get<int64_t>()));
    spec.added_tokens.push_back(std::move(token));
  }
  return Status::ok();
}

// tokenizer_config.json added_tokens_decoder: {"151643": {"content": ..., "special": true, ...}}.
Status merge_config_added_tokens(const json& config, BpeTokenizerSpec& spec) {
  const json* decoder = member(config, "added_tokens_decoder");
  if (!decoder || !decoder->is_object()) return Status::ok();
  std::unordered_map<int32_t, size_t> known;
  for (size_t i = 0; i < spec.added_tokens.size(); ++i) known[spec.added_tokens[i].id] = i;
  for (auto it = decoder->begin(); it != decoder->end(); ++it) {
    char* end = nullptr;
    const long long id = std::strtoll(it.key().c_str(), &end, 10);
    if (it.key().empty() || *end != '\0') return Error("added_tokens_decoder key \"" + it.key() + "\" is not an id");
    KY_ASSIGN_OR_RETURN(AddedToken token, parse_added_token(it.value(), id));
    if (!known.count(token.id)) spec.added_tokens.push_back(std::move(token));
  }
  return Status::ok();
}

int32_t find_token_id(const BpeTokenizerSpec& spec, const std::string& content) {
  for (const AddedToken& token : spec.added_tokens) {
    if (token.content == content) return token.id;
  }
  for (const auto& [text, id] : spec.model.vocab) {
    if (text == content) return id;
  }
  return -1;
}

// post_processor: TemplateProcessing "single", Roberta/Bert cls+sep, ByteLevel (nothing), Sequence.
Status parse_post_processor(const json& processor, const BpeTokenizerSpec& spec, std::vector<int32_t>& prefix,
                            std::vector<int32_t>& suffix, int depth) {
  if (processor.is_null()) return Status::ok();
  if (depth > 16) return Error("post_processor nested too deeply");
  const json* type_json = member(processor, "type");
  if (!type_json || !type_json->is_string()) return Error("post_processor has no string \"type\"");
  const std::string& type = type_json->get_ref<const std::string&>();
  if (type == "ByteLevel") return Status::ok();
  if (type == "Sequence") {
    const json* processors = member(processor, "processors");
    if (!processors || !processors->is_array()) return Error("post_processor Sequence has no \"processors\" array");
    for (const json& child : *processors) KY_RETURN_IF_ERROR(parse_post_processor(child, spec, prefix, suffix, depth + 1));
    return Status::ok();
  }
  if (type == "TemplateProcessing") {
    const json* single = member(processor, "single");
    const json* special_tokens = member(processor, "special_tokens");
    if (!single || !single->is_array()) return Error("post_processor TemplateProcessing has no \"single\" array");
    bool seen_sequence = false;
    for (const json& item : *single) {
      if (member(item, "Sequence")) {
        seen_sequence = true;
        continue;
      }
      const json* special = member(item, "SpecialToken");
      const json* name = special ? member(*special, "id") : nullptr;
      if (!name || !name->is_string()) return Error("post_processor TemplateProcessing: unknown item " + item.dump());
      const json* entry = special_tokens ? member(*special_tokens, name->get_ref<const std::string&>().c_str()) : nullptr;
      const json* ids = entry ? member(*entry, "ids") : nullptr;
      if (!ids || !ids->is_array()) {
        return Error("post_processor TemplateProcessing: special token " + name->dump() + " has no ids");
      }
      for (const json& id : *ids) {
        if (!id.is_number_integer()) return Error("post_processor TemplateProcessing: non-integer id for " + name->dump());
        (seen_sequence ? suffix : prefix).push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    }
    return Status::ok();
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const json* cls = member(processor, "cls");
    const json* sep = member(processor, "sep");
    if (!cls || !sep || !cls->is_array() || cls->size() != 2 || !sep->is_array() || sep->size() != 2 ||
        !(*cls)[1].is_number_integer() || !(*sep)[1].is_number_integer()) {
      return Error("post_processor " + type + ": cls/sep must be [token, id]");
    }
    prefix.push_back(static_cast<int32_t>((*cls)[1].get<int64_t>()));
    suffix.push_back(static_cast<int32_t>((*sep)[1].get<int64_t>()));
    return Status::ok();
  }
  return Error("post_processor type \"" + type + "\" is not supported");
}

Status check_decoder(const json& decoder) {
  if (decoder.is_null()) return Error("decoder is null; byte-level BPE needs the ByteLevel decoder");
  const json* type = member(decoder, "type");
  if (!type || !type->is_string()) return Error("decoder has no string \"type\"");
  if (*type == "ByteLevel") return Status::ok();
  return Error("decoder type " + type->dump() + " is not supported by the byte-level BPE tokenizer");
}

// bos_token / eos_token: "text", {"content": "text", ...} or null.
std::string config_token(const json& config, const char* key) {
  const json* value = member(config, key);
  if (!value) return "";
  if (value->is_string()) return value->get<std::string>();
  const json* content = member(*value, "content");
  return content && content->is_string() ? content->get<std::string>() : "";
}

}  // namespace

Result<BpeTokenizerSpec> parse_bpe_tokenizer_json(std::string_view tokenizer_json, std::string_view config_json,
                                                  const std::string& label) {
  auto document = read_tokenizer_json(tokenizer_json);
  if (!document) return Error(label + ": " + document.status().message());
  TokenizerJsonDocument& doc = *document;
  const json& root = doc.rest;
  if (!root.is_object()) return Error(label + ": tokenizer.json is not a JSON object");
  json config = json::object();
  if (!config_json.empty()) {
    config = json::parse(config_json, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return Error(label + ": tokenizer_config.json is not a JSON object");
  }
  const auto fail = [&](const Status& status) { return status.with_context(label); };

  BpeTokenizerSpec spec;
  spec.label = label;
  const json* model = member(root, "model");
  if (!model) return Error(label + ": tokenizer.json has no \"model\"");
  if (Status s = parse_model(*model, doc, spec.model); !s) return fail(s);
  if (Status s = parse_added_tokens(root, spec); !s) return fail(s);
  if (Status s = merge_config_added_tokens(config, spec); !s) return fail(s);

  static const json kNull;
  const json* normalizer = member(root, "normalizer");
  auto parsed_normalizer = Normalizer::from_json(normalizer ? *normalizer : kNull);
  if (!parsed_normalizer) return fail(parsed_normalizer.status());
  spec.normalizer = std::move(parsed_normalizer).value();
  const json* pre_tokenizer = member(root, "pre_tokenizer");
  auto parsed_pre = PreTokenizer::from_json(pre_tokenizer ? *pre_tokenizer : kNull);
  if (!parsed_pre) return fail(parsed_pre.status());
  spec.pre_tokenizer = std::move(parsed_pre).value();
  const json* decoder = member(root, "decoder");
  if (Status s = check_decoder(decoder ? *decoder : kNull); !s) return fail(s);
  const json* post = member(root, "post_processor");
  if (Status s = parse_post_processor(post ? *post : kNull, spec, spec.prefix_ids, spec.suffix_ids, 0); !s) {
    return fail(s);
  }

  const std::string bos = config_token(config, "bos_token");
  const std::string eos = config_token(config, "eos_token");
  spec.bos_id = bos.empty() ? -1 : find_token_id(spec, bos);
  spec.eos_id = eos.empty() ? -1 : find_token_id(spec, eos);
  if (spec.bos_id < 0 && !spec.prefix_ids.empty()) spec.bos_id = spec.prefix_ids.front();
  return spec;
}

}  // namespace kaiyuan
