// Text normalizers of Hugging Face tokenizers ("normalizer" in tokenizer.json), applied to the text
// between added tokens before pre-tokenization.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace kaiyuan {

class Normalizer {
 public:
  // null, {"type":"NFC"}, "NFD", "Prepend", "Replace" (String pattern) and "Sequence" of these.
  // Anything else is an error naming the type, so a tokenizer is never silently mis-normalized.
  static Result<Normalizer> from_json(const nlohmann::json& json);
  static Normalizer nfc();

  bool is_identity() const { return steps_.empty(); }
  // `text` is valid UTF-8.
  std::string apply(std::string_view text) const;

 private:
  enum class Kind { kNfc, kNfd, kPrepend, kReplace };
  struct Step {
    Kind kind;
    std::string pattern;  // Replace
    std::string content;  // Replace, Prepend
  };
  Status add_from_json(const nlohmann::json& json, int depth);
  std::vector<Step> steps_;
};

}  // namespace kaiyuan
