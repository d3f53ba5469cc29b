// Fuzzes config.json (+ generation_config.json) -> ModelSpec: the JSON reader used for untrusted
// Hugging Face files, then spec_from_hf_config with every family's key handling and validation.
// Input: config.json bytes, optionally followed by a NUL and generation_config.json bytes.
#include <cstddef>
#include <cstdint>

#include "format/hf_json.h"
#include "fuzz_util.h"
#include "model/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view config_text, generation_text;
  kaiyuan::fuzz::split_at_nul(data, size, config_text, generation_text);
  // The depth hf_json.cpp's read_json_object_file allows for config files.
  auto config = kaiyuan::parse_json_text(config_text, "config.json", 64);
  if (!config || !config->is_object()) return 0;
  nlohmann::json generation = nlohmann::json::object();
  if (!generation_text.empty()) {
    auto parsed = kaiyuan::parse_json_text(generation_text, "generation_config.json", 64);
    if (!parsed || !parsed->is_object()) return 0;
    generation = std::move(parsed).value();
  }
  auto spec = kaiyuan::spec_from_hf_config(*config, generation);
  if (spec) {
    KY_FUZZ_CHECK(spec->validate().is_ok(), "a spec returned by spec_from_hf_config passes validate()");
    (void)kaiyuan::rope_inv_freq(*spec);
  }
  return 0;
}
