// SpmVocab from a Hugging Face folder with tokenizer.model (LlamaTokenizer): the SentencePiece
// model decides how text is normalized; tokenizer_config.json / special_tokens_map.json decide BOS,
// EOS and added tokens, generation_config.json adds end-of-generation ids.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "format/hf_json.h"
#include "tokenizer/spm.h"

namespace kaiyuan {
namespace {

using nlohmann::json;

// A special token in HF configs: "<s>", {"content": "<s>", ...} or null.
std::optional<std::string> token_text(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  return std::nullopt;
}

std::optional<bool> flag(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

int32_t find_piece(const SpmVocab& vocab, const std::string& text) {
  for (size_t i = 0; i < vocab.pieces.size(); ++i)
    if (vocab.pieces[i].piece == text) return static_cast<int32_t>(i);
  return -1;
}

Result<json> read_optional_json(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return json::object();
  return read_json_object_file(path);
}

Status check_model(const SentencePieceModel& model) {
  if (model.model_type != SentencePieceModel::ModelType::BPE) {
    return Error("model_type " + std::to_string(static_cast<int32_t>(model.model_type)) +
                 " is not supported (only SentencePiece BPE models, model_type 2)");
  }
  if (!model.precompiled_charsmap.empty()) {
    return Error("normalizer '" + model.normalizer_name +
                 "' with a precompiled character map is not supported (only 'identity')");
  }
  if (model.treat_whitespace_as_suffix) return Error("treat_whitespace_as_suffix is not supported");
  return Status::ok();
}

// tokenizer_config.json "added_tokens_decoder": {"32000": {"content": "<|im_start|>", "special":
// true}, ...}. Tokens past the SentencePiece vocabulary extend it (HF added tokens); tokens inside
// it become matchable in text.
Status apply_added_tokens(const json& config, SpmVocab* vocab) {
  const auto it = config.find("added_tokens_decoder");
  if (it == config.end() || !it->is_object()) return Status::ok();
  std::vector<std::pair<int64_t, const json*>> entries;
  for (const auto& [key, value] : it->items()) {
    char* end = nullptr;
    const long long id = std::strtoll(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || id < 0 || id > INT32_MAX) return Error("added token id '" + key + "'");
    if (!value.is_object() || !value.contains("content") || !value["content"].is_string())
      return Error("added token " + key + ": no content");
    entries.emplace_back(id, &value);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, entry] : entries) {
    const std::string content = (*entry)["content"].get<std::string>();
    const bool special = entry->contains("special") && (*entry)["special"].is_boolean() && (*entry)["special"].get<bool>();
    const auto index = static_cast<size_t>(id);
    if (index == vocab->pieces.size()) {
      vocab->pieces.push_back({content, 0.0f, special ? SpmPieceType::CONTROL : SpmPieceType::USER_DEFINED});
    } else if (index > vocab->pieces.size()) {
      return Error("added token " + std::to_string(id) + " leaves a gap after the vocabulary of " +
                   std::to_string(vocab->pieces.size()));
    } else if (vocab->pieces[index].piece == content) {
      auto& piece = vocab->pieces[index];
      if (piece.type == SpmPieceType::NORMAL) piece.type = SpmPieceType::USER_DEFINED;
      if (special) vocab->extra_special_ids.push_back(static_cast<int32_t>(id));
    }
  }
  return Status::ok();
}

// generation_config.json "eos_token_id": an id or a list of ids.
Status apply_generation_config(const json& config, const std::string& path, SpmVocab* vocab) {
  const auto it = config.find("eos_token_id");
  if (it == config.end()) return Status::ok();
  const json ids = it->is_array() ? *it : json::array({*it});
  for (const json& id : ids) {
    if (id.is_null()) continue;
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= static_cast<int64_t>(vocab->pieces.size()))
      return Error(path + ": eos_token_id " + id.dump() + " is not a token id");
    vocab->end_of_generation_ids.push_back(id.get<int32_t>());
  }
  return Status::ok();
}

Result<SpmVocab> vocab_from_folder(const std::string& dir) {
  const std::string model_path = dir + "/tokenizer.model";
  KY_ASSIGN_OR_RETURN(SentencePieceModel model, read_sentencepiece_model(model_path));
  KY_RETURN_IF_ERROR(check_model(model).with_context(model_path));
  KY_ASSIGN_OR_RETURN(json config, read_optional_json(dir + "/tokenizer_config.json"));
  KY_ASSIGN_OR_RETURN(json special_map, read_optional_json(dir + "/special_tokens_map.json"));
  const std::string generation_path = dir + "/generation_config.json";
  KY_ASSIGN_OR_RETURN(json generation, read_optional_json(generation_path));

  SpmVocab vocab;
  vocab.pieces = std::move(model.pieces);
  vocab.add_dummy_prefix = model.add_dummy_prefix;
  vocab.remove_extra_whitespaces = model.remove_extra_whitespaces;
  vocab.escape_whitespaces = model.escape_whitespaces;
  vocab.byte_fallback = model.byte_fallback;
  // HF LlamaTokenizer defaults: add_bos_token=True, add_eos_token=False, legacy=True.
  vocab.add_bos = flag(config, "add_bos_token").value_or(true);
  vocab.add_eos = flag(config, "add_eos_token").value_or(false);
  vocab.dummy_prefix_after_special = flag(config, "legacy").value_or(true);
  KY_RETURN_IF_ERROR(apply_added_tokens(config, &vocab).with_context(dir + "/tokenizer_config.json"));

  const auto n = static_cast<int32_t>(vocab.pieces.size());
  auto spec_id = [n](int32_t id) { return id >= 0 && id < n ? id : -1; };
  auto configured_id = [&](const char* key, int32_t fallback) {
    std::optional<std::string> text = token_text(config, key);
    if (!text) text = token_text(special_map, key);
    if (!text) return fallback;
    const int32_t id = find_piece(vocab, *text);
    return id >= 0 ? id : fallback;
  };
  vocab.bos_id = configured_id("bos_token", spec_id(model.bos_id));
  vocab.eos_id = configured_id("eos_token", spec_id(model.eos_id));
  vocab.unk_id = configured_id("unk_token", spec_id(model.unk_id));
  KY_RETURN_IF_ERROR(apply_generation_config(generation, generation_path, &vocab));
  return vocab;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_spm_from_folder(const std::string& dir) {
  KY_ASSIGN_OR_RETURN(SpmVocab vocab, vocab_from_folder(dir));
  KY_ASSIGN_OR_RETURN(std::unique_ptr<SpmTokenizer> tokenizer, SpmTokenizer::create(std::move(vocab)));
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

}  // namespace kaiyuan
