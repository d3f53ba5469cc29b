// load_model: GGUF file or Hugging Face folder -> spec -> architecture bound to the weights.
#include <filesystem>

#include "format/gguf.h"
#include "format/hf_folder.h"
#include "model/model.h"
#include "model/repacked_source.h"

namespace kaiyuan {

Result<LoadedModel> load_model(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error(path + ": no such file or directory");
  ModelSpec spec;
  std::shared_ptr<const WeightSource> source;
  if (std::filesystem::is_directory(path, ec)) {
    if (!is_hf_folder(path)) return Error(path + ": a model folder needs config.json (Hugging Face layout)");
    KY_ASSIGN_OR_RETURN(std::unique_ptr<HfFolder> hf, HfFolder::open(path));
    KY_ASSIGN_OR_RETURN(spec, spec_from_hf_config(hf->config(), hf->generation_config()));
    source = std::move(hf);
  } else {
    KY_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> gguf, GgufFile::open(path));
    auto parsed = spec_from_gguf(*gguf);
    if (!parsed) return parsed.status().with_context(path);
    spec = std::move(parsed).value();
    source = std::move(gguf);
  }
  const ModelFactory* factory = find_architecture(spec.arch);
  if (factory == nullptr) {
    std::string names;
    for (const std::string& n : supported_architectures()) names += (names.empty() ? "" : ", ") + n;
    return Error(path + ": architecture '" + spec.arch + "' is not supported (supported: " + names + ")");
  }
  // The model binds through the repacking wrapper (it owns the copies); LoadedModel::source stays
  // the file itself, which the tokenizer and metadata readers inspect.
  std::shared_ptr<const WeightSource> binding = source;
  if (repacking_enabled()) binding = std::make_shared<RepackedWeightSource>(source);
  auto model = (*factory)(spec, binding);
  if (!model) return model.status().with_context(path);
  binding->release_mapped_pages();
  return LoadedModel{std::move(model).value(), source};
}

}  // namespace kaiyuan
