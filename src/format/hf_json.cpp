// Untrusted JSON -> nlohmann::json with positional error messages (see hf_json.h).
#include "format/hf_json.h"

#include "core/mapped_file.h"

namespace kaiyuan {
namespace {

// Deepest nesting of [] / {} outside strings; stops counting once `limit` is passed.
int nesting_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Result<nlohmann::json> parse_json_text(std::string_view text, const std::string& label, int max_depth) {
  if (nesting_depth(text, max_depth) > max_depth)
    return Error(label + ": JSON nested deeper than " + std::to_string(max_depth) + " levels");
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based; e.what() adds line/column and the offending token.
    return Error(label + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const std::exception& e) {
    return Error(label + ": invalid JSON: " + e.what());
  }
}

Result<nlohmann::json> read_json_object_file(const std::string& path) {
  KY_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  // Real configs nest 3-4 levels (rope_scaling, quantization_config); 64 leaves ample room.
  KY_ASSIGN_OR_RETURN(nlohmann::json json, parse_json_text(text, path, 64));
  if (!json.is_object()) return Error(path + ": expected a JSON object, got " + json.type_name());
  return json;
}

}  // namespace kaiyuan
