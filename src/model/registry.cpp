// The explicit list of architectures: GGUF architecture name -> factory. One line per family.
#include <map>

#include "model/model.h"

namespace kaiyuan {

Result<std::unique_ptr<Model>> create_llama_model(ModelSpec spec, std::shared_ptr<const WeightSource> weights);
Result<std::unique_ptr<Model>> create_deepseek_model(ModelSpec spec, std::shared_ptr<const WeightSource> weights);

namespace {

const std::map<std::string, ModelFactory>& registry() {
  static const std::map<std::string, ModelFactory> kRegistry = {
      {"llama", &create_llama_model},
      {"qwen2", &create_llama_model},
      {"qwen3", &create_llama_model},
      {"seed_oss", &create_llama_model},
      {"deepseek2", &create_deepseek_model},
      {"qwen3moe", &create_llama_model},
      {"glm4moe", &create_llama_model},
      {"ernie4_5-moe", &create_llama_model},
      {"hunyuan-moe", &create_llama_model},
      {"minimax-m2", &create_llama_model},
  };
  return kRegistry;
}

}  // namespace

const ModelFactory* find_architecture(const std::string& arch) {
  auto it = registry().find(arch);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> supported_architectures() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

}  // namespace kaiyuan
