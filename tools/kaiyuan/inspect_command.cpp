// `kaiyuan inspect MODEL`: architecture, dimensions, tensor types, parameter count and memory.
#include <cstdio>
#include <map>

#include "command.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "model/weight_footprint.h"

namespace kaiyuan::cli {
namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024.0 && u < 4) {
    b /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
  return buf;
}

int inspect(const std::string& path) {
  auto loaded = load_model(path);
  if (!loaded) return fail(loaded.status().message());
  const ModelSpec& s = loaded->model->spec();
  const WeightSource& w = *loaded->source;
  std::map<std::string, std::pair<int64_t, int64_t>> by_type;  // type -> (tensors, elements)
  int64_t params = 0;
  double bytes = 0;
  for (const TensorView& t : w.tensors()) {
    auto& e = by_type[std::string(dtype_name(t.dtype))];
    ++e.first;
    e.second += t.numel();
    params += t.numel();
    bytes += static_cast<double>(t.nbytes);
  }
  std::printf("model:          %s\n", path.c_str());
  std::printf("format:         %s\n", w.format_name().c_str());
  std::printf("architecture:   %s\n", s.arch.c_str());
  std::printf("n_vocab:        %lld\n", static_cast<long long>(s.n_vocab));
  std::printf("d_model:        %lld\n", static_cast<long long>(s.d_model));
  std::printf("n_layers:       %lld\n", static_cast<long long>(s.n_layers));
  std::printf("n_heads:        %lld (kv %lld, head_dim %lld)\n", static_cast<long long>(s.n_heads),
              static_cast<long long>(s.n_kv_heads), static_cast<long long>(s.head_dim));
  std::printf("d_ff:           %lld\n", static_cast<long long>(s.d_ff));
  std::printf("n_ctx_train:    %lld\n", static_cast<long long>(s.n_ctx_train));
  std::printf("rope:           theta %g, %lld dims, %s pairs%s\n", s.rope_theta, static_cast<long long>(s.rope_dim),
              s.rope_pairing == kernels::RopePairing::kNeox ? "neox (rotate_half)" : "interleaved",
              s.rope_scaling.type == RopeScalingType::kLlama3   ? ", llama3 scaling"
              : s.rope_scaling.type == RopeScalingType::kLinear ? ", linear scaling"
                                                                : "");
  std::printf("norm_eps:       %g\n", static_cast<double>(s.norm_eps));
  std::printf("features:       %s%s\n", s.qk_norm ? "qk-norm " : "", s.tied_embeddings ? "tied-embeddings" : "");
  if (s.is_moe()) {
    std::printf("experts:        %lld routed, %lld per token (%s%s), %lld shared, d_ff_expert %lld, %lld dense lead layers\n",
                static_cast<long long>(s.router.n_experts), static_cast<long long>(s.router.top_k),
                s.router.scoring == RouterScoring::kSigmoid ? "sigmoid" : "softmax",
                s.router.norm_topk_prob ? ", renormalised" : "", static_cast<long long>(s.n_shared_experts),
                static_cast<long long>(s.d_ff_expert), static_cast<long long>(s.n_dense_lead));
  }
  std::printf("tensors:        %zu\n", w.tensors().size());
  for (const auto& [type, e] : by_type)
    std::printf("  %-6s        %lld tensors, %lld elements\n", type.c_str(), static_cast<long long>(e.first),
                static_cast<long long>(e.second));
  std::printf("parameters:     %lld (%.2fM)\n", static_cast<long long>(params), static_cast<double>(params) / 1e6);
  std::printf("weights memory: %s (%.2f bits/weight)\n", human_bytes(bytes).c_str(),
              params > 0 ? bytes * 8.0 / static_cast<double>(params) : 0.0);
  const WeightFootprint fp = weight_footprint(s, w);
  std::printf("active params:  %lld per token (%.2fM; routed experts %.2fM in all)\n",
              static_cast<long long>(fp.active_params), static_cast<double>(fp.active_params) / 1e6,
              static_cast<double>(fp.expert_params) / 1e6);
  std::printf("weights read:   %s per generated token\n", human_bytes(fp.bytes_per_token).c_str());
  std::printf("kv cache:       %s per 1024 tokens (f32)\n",
              human_bytes(2.0 * 4.0 * static_cast<double>(s.n_layers * s.kv_dim()) * 1024).c_str());
  std::printf("kernels:        %s\n", std::string(kernels::active_isa_name()).c_str());
  return 0;
}

const bool kRegistered = add_command("inspect", "Describe a model: architecture, dims, tensors, memory", [](CLI::App& sub) -> RunFn {
  auto path = std::make_shared<std::string>();
  sub.add_option("model", *path, "GGUF file or Hugging Face model folder")->required();
  return [path] { return inspect(*path); };
});

}  // namespace
}  // namespace kaiyuan::cli
