// HfFolder: a Hugging Face model folder (config.json, generation_config.json, safetensors weights,
// single file or sharded) exposed as a WeightSource under canonical tensor names.
#include "format/hf_folder.h"

#include <filesystem>
#include <map>
#include <system_error>

#include "format/hf_json.h"
#include "format/tensor_names.h"

namespace kaiyuan {
namespace {

namespace fs = std::filesystem;

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Shard names come from an untrusted index: they must stay inside the folder. Only the text is
// checked (symlinks are fine: the Hugging Face cache links snapshot files to ../../blobs).
Status check_shard_name(const std::string& shard) {
  if (shard.empty()) return Error("empty shard file name");
  if (shard.find('\0') != std::string::npos) return Error("shard file name holds a NUL byte");
  const fs::path path(shard);
  if (path.is_absolute() || path.has_root_name() || path.has_root_directory())
    return Error("shard file '" + shard + "' is an absolute path (must be inside the model folder)");
  for (const fs::path& part : path)
    if (part == "..") return Error("shard file '" + shard + "' contains '..' (must be inside the model folder)");
  return Status::ok();
}

// A tensor as read from its file, before renaming.
struct SourceTensor {
  const TensorView* view;
};

}  // namespace

class HfFolderLoader {
 public:
  // model.safetensors.index.json: {"metadata": {...}, "weight_map": {tensor name: shard file}}.
  static Status load_sharded(HfFolder& folder, const std::string& index_path, std::vector<SourceTensor>& out) {
    KY_ASSIGN_OR_RETURN(nlohmann::json index, read_json_object_file(index_path));
    auto map_it = index.find("weight_map");
    if (map_it == index.end() || !map_it->is_object())
      return Error(index_path + ": missing \"weight_map\" object (tensor name -> shard file)");
    std::map<std::string, size_t> shard_of_file;  // each shard opened once
    for (const auto& [name, shard_json] : map_it->items()) {
      if (!shard_json.is_string()) return Error(index_path + ": weight_map['" + name + "'] is not a file name");
      const std::string shard = shard_json.get<std::string>();
      KY_RETURN_IF_ERROR(check_shard_name(shard).with_context(index_path + ": tensor '" + name + "'"));
      auto it = shard_of_file.find(shard);
      if (it == shard_of_file.end()) {
        KY_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(folder.dir_ + "/" + shard));
        folder.shards_.push_back(std::move(file));
        it = shard_of_file.emplace(shard, folder.shards_.size() - 1).first;
      }
      const TensorView* view = folder.shards_[it->second].find(name);
      if (view == nullptr)
        return Error(index_path + ": tensor '" + name + "' is listed in shard '" + shard + "' but is not in that shard");
      out.push_back({view});
    }
    return Status::ok();
  }

  static Status load_single(HfFolder& folder, const std::string& path, std::vector<SourceTensor>& out) {
    KY_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(path));
    folder.shards_.push_back(std::move(file));
    for (const TensorView& view : folder.shards_.back().tensors()) out.push_back({&view});
    return Status::ok();
  }

  // Renames to canonical names (unknown names are kept as they are) and builds the index.
  static Status expose(HfFolder& folder, const std::vector<SourceTensor>& sources) {
    std::unordered_map<std::string, std::string> hf_name_of;  // canonical -> HF name, for errors
    for (const SourceTensor& src : sources) {
      TensorView view = *src.view;
      view.name = hf_to_canonical_name(src.view->name).value_or(src.view->name);
      auto [it, inserted] = hf_name_of.emplace(view.name, src.view->name);
      if (!inserted)
        return Error(folder.dir_ + ": tensors '" + it->second + "' and '" + src.view->name +
                     "' both map to the canonical name '" + view.name + "'");
      folder.index_.emplace(view.name, folder.tensors_.size());
      folder.tensors_.push_back(std::move(view));
    }
    return Status::ok();
  }
};

Result<std::unique_ptr<HfFolder>> HfFolder::open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error(dir + ": not a directory (expected a Hugging Face model folder)");
  const std::string config_path = dir + "/config.json";
  if (!is_regular_file(config_path)) return Error(dir + ": no config.json (not a Hugging Face model folder)");

  auto folder = std::make_unique<HfFolder>();
  folder->dir_ = dir;
  KY_ASSIGN_OR_RETURN(folder->config_, read_json_object_file(config_path));
  const std::string gen_path = dir + "/generation_config.json";
  if (is_regular_file(gen_path)) {
    KY_ASSIGN_OR_RETURN(folder->gen_config_, read_json_object_file(gen_path));
  } else {
    folder->gen_config_ = nlohmann::json::object();
  }

  // transformers prefers the single file when both exist (SAFE_WEIGHTS_NAME before the index).
  const std::string single_path = dir + "/model.safetensors";
  const std::string index_path = dir + "/model.safetensors.index.json";
  std::vector<SourceTensor> sources;
  if (is_regular_file(single_path)) {
    KY_RETURN_IF_ERROR(HfFolderLoader::load_single(*folder, single_path, sources));
  } else if (is_regular_file(index_path)) {
    KY_RETURN_IF_ERROR(HfFolderLoader::load_sharded(*folder, index_path, sources));
  } else {
    return Error(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  KY_RETURN_IF_ERROR(HfFolderLoader::expose(*folder, sources));
  return folder;
}

const TensorView* HfFolder::find(std::string_view canonical_name) const {
  auto it = index_.find(std::string(canonical_name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

bool is_hf_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && is_regular_file(path + "/config.json");
}

}  // namespace kaiyuan
