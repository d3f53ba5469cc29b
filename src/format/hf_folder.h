// A Hugging Face model folder: config.json, generation_config.json (optional) and weights in
// model.safetensors or shards listed by model.safetensors.index.json. Tensors are exposed under
// GGUF-style canonical names (format/tensor_names.h); names with no mapping keep their HF name.
// Safetensors layout: u64 LE header length N | N bytes of JSON header {name: {dtype, shape,
// data_offsets:[begin,end]}, "__metadata__": {...}} | raw data (offsets relative to its start).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "core/status.h"
#include "format/weight_source.h"

namespace kaiyuan {

// One .safetensors file, parsed and validated (dtypes F32, F16, BF16; offsets inside the file,
// sizes matching dtype x shape, no overlapping tensors). Names are the file's own.
class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);
  static Result<SafetensorsFile> parse(const uint8_t* bytes, size_t size, std::string label);
  const std::vector<TensorView>& tensors() const { return tensors_; }  // sorted by name
  const TensorView* find(std::string_view name) const;                // nullptr when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  void release_mapped_pages() const;  // as WeightSource's; nothing for parse()
  void release_mapped_range(const void* p, size_t n) const;

 private:
  std::shared_ptr<MappedFile> file_;  // null for parse(): the caller owns the bytes
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

class HfFolder final : public WeightSource {
 public:
  static Result<std::unique_ptr<HfFolder>> open(const std::string& dir);

  const nlohmann::json& config() const { return config_; }                 // config.json
  const nlohmann::json& generation_config() const { return gen_config_; }  // {} when absent
  const std::string& dir() const { return dir_; }

  const TensorView* find(std::string_view canonical_name) const override;
  const std::vector<TensorView>& tensors() const override { return tensors_; }
  std::string format_name() const override { return "safetensors"; }
  void release_mapped_pages() const override {
    for (const SafetensorsFile& shard : shards_) shard.release_mapped_pages();
  }
  void release_mapped_range(const void* p, size_t n) const override {
    for (const SafetensorsFile& shard : shards_) shard.release_mapped_range(p, n);
  }

 private:
  friend class HfFolderLoader;  // hf_folder.cpp: fills the members below
  std::string dir_;
  nlohmann::json config_;
  nlohmann::json gen_config_;
  std::vector<SafetensorsFile> shards_;
  std::vector<TensorView> tensors_;  // canonical names
  std::unordered_map<std::string, size_t> index_;
};

// True when `path` is a directory holding config.json.
bool is_hf_folder(const std::string& path);

}  // namespace kaiyuan
