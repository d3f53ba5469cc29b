// Hugging Face normalizers (tokenizers/src/normalizers): NFC, NFD, Prepend, Replace, Sequence.
#include "tokenizer/normalizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/unicode_nfc.h"

namespace kaiyuan {

namespace {

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(pattern, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(content);
    pos = hit + pattern.size();
  }
  out.append(text.substr(pos));
  return out;
}

const std::string* string_field(const nlohmann::json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

}  // namespace

Result<Normalizer> Normalizer::from_json(const nlohmann::json& json) {
  Normalizer normalizer;
  KY_RETURN_IF_ERROR(normalizer.add_from_json(json, 0));
  return normalizer;
}

Normalizer Normalizer::nfc() {
  Normalizer normalizer;
  normalizer.steps_.push_back({Kind::kNfc, "", ""});
  return normalizer;
}

Status Normalizer::add_from_json(const nlohmann::json& json, int depth) {
  if (json.is_null()) return Status::ok();
  if (depth > 16) return Error("normalizer: Sequence nested too deeply");
  const std::string* type = json.is_object() ? string_field(json, "type") : nullptr;
  if (type == nullptr) return Error("normalizer: expected an object with a string \"type\"");
  if (*type == "Sequence") {
    auto it = json.find("normalizers");
    if (it == json.end() || !it->is_array()) return Error("normalizer Sequence: missing \"normalizers\" array");
    for (const auto& child : *it) KY_RETURN_IF_ERROR(add_from_json(child, depth + 1));
    return Status::ok();
  }
  if (*type == "NFC") {
    steps_.push_back({Kind::kNfc, "", ""});
  } else if (*type == "NFD") {
    steps_.push_back({Kind::kNfd, "", ""});
  } else if (*type == "Prepend") {
    const std::string* prepend = string_field(json, "prepend");
    if (prepend == nullptr) return Error("normalizer Prepend: missing string \"prepend\"");
    steps_.push_back({Kind::kPrepend, "", *prepend});
  } else if (*type == "Replace") {
    auto pattern = json.find("pattern");
    const std::string* content = string_field(json, "content");
    const std::string* literal =
        pattern != json.end() && pattern->is_object() ? string_field(*pattern, "String") : nullptr;
    if (literal == nullptr || content == nullptr) {
      return Error("normalizer Replace: only {\"pattern\":{\"String\":...},\"content\":...} is supported");
    }
    if (literal->empty()) return Error("normalizer Replace: empty pattern");
    steps_.push_back({Kind::kReplace, *literal, *content});
  } else {
    return Error("normalizer type \"" + *type + "\" is not supported");
  }
  return Status::ok();
}

std::string Normalizer::apply(std::string_view text) const {
  std::string current(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kNfc:
        current = unicode::to_nfc(current);
        break;
      case Kind::kNfd:
        current = unicode::to_nfd(current);
        break;
      case Kind::kPrepend:
        // HF Prepend only prepends to non-empty text.
        if (!current.empty()) current = step.content + current;
        break;
      case Kind::kReplace:
        current = replace_all(current, step.pattern, step.content);
        break;
    }
  }
  return current;
}

}  // namespace kaiyuan
