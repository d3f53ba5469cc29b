// `kaiyuan run MODEL (-p TEXT | --prompt-ids 1,2,3) [-n N] [--temp T] ...`: generate and stream text.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "model_args.h"
#include "runtime/session.h"

namespace kaiyuan::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string prompt;
  std::string prompt_ids;
  int32_t n_predict = 128;
  int threads = 0;
  int64_t ctx_size = 0;
  std::string cache_type = "f32";
  bool json = false;
  std::vector<std::string> stop;
  SamplingParams sampling;
};

int run(const RunArgs& a, bool have_prompt) {
  SessionOptions so;
  so.n_threads = a.threads;
  so.n_ctx = a.ctx_size;
  so.cache_type = cache_type_of(a.cache_type);
  auto session = Session::open(a.model, so);
  if (!session) return fail(session.status().message());
  Session& s = **session;

  std::vector<int32_t> prompt;
  if (!a.prompt_ids.empty()) {
    auto ids = parse_id_list(a.prompt_ids);
    if (!ids) return fail(ids.status().message());
    prompt = *ids;
  } else {
    prompt = s.tokenize_prompt(have_prompt ? a.prompt : "");
  }
  GenerateOptions go;
  go.max_new_tokens = a.n_predict;
  go.sampling = a.sampling;
  go.stop = a.stop;

  std::function<bool(const std::string&)> stream;
  if (!a.json) {
    stream = [](const std::string& text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  auto gen = s.generate(prompt, go, stream);
  if (!gen) return fail(gen.status().message());
  if (gen->context_full)
    std::fprintf(stderr, "\nnote: generation stopped at the context size %lld (raise --ctx-size)\n",
                 static_cast<long long>(s.n_ctx()));
  if (a.json) {
    std::string out = "{\"prompt_ids\":[";
    for (size_t i = 0; i < prompt.size(); ++i) out += (i ? "," : "") + std::to_string(prompt[i]);
    out += "],\"ids\":[";
    for (size_t i = 0; i < gen->ids.size(); ++i) out += (i ? "," : "") + std::to_string(gen->ids[i]);
    out += "],\"text\":" + json_string(gen->text) + "}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  } else {
    std::fputc('\n', stdout);
  }
  return 0;
}

const bool kRegistered = add_command("run", "Generate text from a prompt", [](CLI::App& sub) -> RunFn {
  auto a = std::make_shared<RunArgs>();
  sub.add_option("model", a->model, "GGUF file or Hugging Face model folder")->required();
  auto* p = sub.add_option("-p,--prompt", a->prompt, "Prompt text");
  auto* ids = sub.add_option("--prompt-ids", a->prompt_ids, "Prompt as comma-separated token ids (BOS not added)");
  p->excludes(ids);
  sub.add_option("-n,--n-predict", a->n_predict, "Tokens to generate")->check(CLI::Range(0, 1 << 24));
  sub.add_option("--temp,--temperature", a->sampling.temperature, "Temperature (0 = greedy)");
  sub.add_option("--top-k", a->sampling.top_k, "Top-k (0 = off)");
  sub.add_option("--top-p", a->sampling.top_p, "Top-p (1 = off)");
  sub.add_option("--min-p", a->sampling.min_p, "Min-p (0 = off)");
  sub.add_option("--repeat-penalty", a->sampling.repetition_penalty, "Repetition penalty (1 = off)");
  sub.add_option("--presence-penalty", a->sampling.presence_penalty, "Presence penalty");
  sub.add_option("--frequency-penalty", a->sampling.frequency_penalty, "Frequency penalty");
  sub.add_option("--repeat-last-n", a->sampling.penalty_last_n, "Penalty window (-1 = all)");
  sub.add_option("--seed", a->sampling.seed, "Random seed");
  sub.add_option("--stop", a->stop, "Stop string (repeatable)");
  sub.add_option("-t,--threads", a->threads, "Threads (default: available CPUs)")->check(CLI::Range(1, 1024));
  sub.add_option("-c,--ctx-size", a->ctx_size, "Context size (default: model's, at most 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  add_cache_type_option(sub, a->cache_type);
  sub.add_flag("--json", a->json, "Print one JSON line {prompt_ids, ids, text} instead of streaming");
  return [a, p] { return run(*a, p->count() > 0); };
});

}  // namespace
}  // namespace kaiyuan::cli
