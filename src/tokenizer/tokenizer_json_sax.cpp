// SAX handler for tokenizer.json (nlohmann::json::sax_parse): intercepts model.vocab and
// model.merges, builds a DOM for the rest.
#include "tokenizer/tokenizer_json_sax.h"

namespace kaiyuan {

namespace {

using nlohmann::json;

class Handler final : public nlohmann::json_sax<json> {
 public:
  explicit Handler(TokenizerJsonDocument& doc) : doc_(doc) {}
  const std::string& error() const { return error_; }

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(v);
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(v <= INT32_MAX ? static_cast<int64_t>(v) : -1);
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (mode_ != Mode::kNone) return fail("model." + section() + " holds a non-integer number");
    return value(json(v));
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) return merge_string(v);
    if (mode_ == Mode::kVocab) return fail("model.vocab[\"" + key_ + "\"] is not an integer id");
    return value(json(std::move(v)));
  }
  bool binary(binary_t&) override { return fail("binary values are not JSON"); }
  bool key(string_t& k) override {
    if (mode_ == Mode::kVocab) {
      key_ = std::move(k);
      return true;
    }
    if (mode_ != Mode::kNone) return fail("model." + section() + " has an unexpected object");
    pending_key_ = std::move(k);
    return true;
  }
  bool start_object(std::size_t) override {
    if (mode_ != Mode::kNone) return fail("model." + section() + " has an unexpected object");
    if (in_model() && pending_key_ == "vocab") {
      mode_ = Mode::kVocab;
      doc_.has_vocab = true;
      return true;
    }
    return open(json::object());
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kNone;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      if (merge_depth_ != 0) return fail("model.merges has a nested array");
      merge_depth_ = 1;
      merge_parts_.clear();
      return true;
    }
    if (mode_ == Mode::kVocab) return fail("model.vocab[\"" + key_ + "\"] is not an integer id");
    if (in_model() && pending_key_ == "merges") {
      mode_ = Mode::kMerges;
      doc_.has_merges = true;
      return true;
    }
    return open(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMerges) {
      if (merge_depth_ == 0) {
        mode_ = Mode::kNone;
        return true;
      }
      merge_depth_ = 0;
      if (merge_parts_.size() != 2) return fail(merge_name() + " is neither \"a b\" nor [\"a\", \"b\"]");
      doc_.merges.emplace_back(std::move(merge_parts_[0]), std::move(merge_parts_[1]));
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    if (error_.empty()) error_ = "not valid JSON (at byte " + std::to_string(position) + "): " + e.what();
    return false;
  }

 private:
  enum class Mode { kNone, kVocab, kMerges };

  // Directly inside the root's "model" object.
  bool in_model() const { return stack_.size() == 2 && model_ != nullptr && stack_.back() == model_; }
  std::string section() const { return mode_ == Mode::kVocab ? "vocab" : "merges"; }
  std::string merge_name() const { return "model.merges[" + std::to_string(doc_.merges.size()) + "]"; }
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  bool vocab_id(int64_t id) {
    if (id < 0 || id > INT32_MAX) return fail("model.vocab[\"" + key_ + "\"] has id out of range");
    doc_.vocab.emplace_back(std::move(key_), static_cast<int32_t>(id));
    return true;
  }
  bool merge_string(std::string& text) {
    if (merge_depth_ == 1) {
      merge_parts_.push_back(std::move(text));
      return true;
    }
    const size_t space = text.find(' ');
    if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
      return fail(merge_name() + " \"" + text + "\" is not two tokens separated by a space");
    }
    doc_.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    return true;
  }
  json* place(json&& v) {
    if (stack_.empty()) {
      doc_.rest = std::move(v);
      return &doc_.rest;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[pending_key_];
    slot = std::move(v);
    return &slot;
  }
  bool value(json&& v) {
    if (mode_ != Mode::kNone) return fail("model." + section() + " has an unexpected value");
    place(std::move(v));
    return true;
  }
  bool open(json&& container) {
    const bool is_model = stack_.size() == 1 && stack_.back()->is_object() && pending_key_ == "model";
    json* slot = place(std::move(container));
    if (is_model && slot->is_object()) model_ = slot;
    stack_.push_back(slot);
    return true;
  }

  TokenizerJsonDocument& doc_;
  std::vector<json*> stack_;
  json* model_ = nullptr;
  std::string pending_key_;
  std::string key_;
  Mode mode_ = Mode::kNone;
  int merge_depth_ = 0;
  std::vector<std::string> merge_parts_;
  std::string error_;
};

}  // namespace

Result<TokenizerJsonDocument> read_tokenizer_json(std::string_view text) {
  TokenizerJsonDocument doc;
  Handler handler(doc);
  const bool ok = json::sax_parse(text.begin(), text.end(), &handler, json::input_format_t::json, true, false);
  if (!ok) return Error(handler.error().empty() ? "not valid JSON" : handler.error());
  return doc;
}

}  // namespace kaiyuan
