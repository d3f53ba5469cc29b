// `kaiyuan bench MODEL [-p 512] [-n 128] [-r 5] [-t 2] [--json]`: prompt-processing (pp) and
// generation (tg) throughput as llama-bench measures them: pp = one batch of p tokens into a fresh
// cache, tg = n single-token decodes into a fresh cache; random token ids (speed does not depend on
// them); median, min and max tokens/s over r runs after one warm-up run of each.
// --parallel P adds tgNxP: P sequences generating together, each step one batch of a token per
// sequence in its own cache slot (a server's batched decode without the server); its rate counts
// every sequence's tokens.
// --roofline adds the machine's limits measured in the same run: the memory read bandwidth, and the
// tg rate it allows for this model's weight bytes per token; the int8 multiply-add peak, and the pp
// rate it allows for the model's multiply-adds per token.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "command.h"
#include "model_args.h"
#include "core/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/roofline.h"
#include "model/model.h"
#include "model/repacked_source.h"
#include "model/weight_footprint.h"

namespace kaiyuan::cli {
namespace {

struct BenchArgs {
  std::string model;
  int n_prompt = 512;
  int n_gen = 128;
  int reps = 5;
  int threads = 0;
  int parallel = 1;
  bool json = false;
  bool roofline = false;
  std::string cache_type = "f32";
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

struct Stats {
  double median, min, max;
};

Stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return {median, v.front(), v.back()};
}

// Seconds for one prompt batch of n tokens (logits for the last one only, as llama-bench).
Result<double> time_prompt(Model& model, const std::vector<int32_t>& ids, KvType cache_type, int /*n_seq*/) {
  auto cache = model.create_cache(static_cast<int64_t>(ids.size()), 1, cache_type);
  if (!cache) return cache.status();
  Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
  std::vector<float> logits;
  const auto start = Clock::now();
  Status st = model.forward(batch, *cache, logits);
  if (!st.is_ok()) return st;
  return seconds_since(start);
}

// Seconds for n decode steps from position 0 of n_seq sequences at once (ids: n_seq per step), each
// step one batch with a token of every sequence.
Result<double> time_generation(Model& model, const std::vector<int32_t>& ids, KvType cache_type, int n_seq) {
  const size_t steps = ids.size() / static_cast<size_t>(n_seq);
  auto cache = model.create_cache(static_cast<int64_t>(steps), n_seq, cache_type);
  if (!cache) return cache.status();
  Batch batch;
  std::vector<float> logits;
  const auto start = Clock::now();
  for (size_t i = 0; i < steps; ++i) {
    batch.clear();
    for (int s = 0; s < n_seq; ++s) batch.add(ids[i * n_seq + s], static_cast<int32_t>(i), s, true);
    Status st = model.forward(batch, *cache, logits);
    if (!st.is_ok()) return st;
  }
  return seconds_since(start);
}

using TimeFn = Result<double> (*)(Model&, const std::vector<int32_t>&, KvType, int);

// A generated token reads its active weights once (tg line = bandwidth / bytes per token); a prompt
// token costs one multiply-add per active parameter (pp line = int8 peak / active parameters).
void print_roofline(const BenchArgs& a, const Model& model, const WeightSource& file, int threads) {
  const WeightFootprint fp = weight_footprint(model.spec(), file);
  const double gbs = kernels::measure_read_bandwidth(size_t{512} << 20, 5);
  const double peak = kernels::measure_int8_peak(5);
  const double tg_line = fp.bytes_per_token > 0 ? gbs * 1e9 / fp.bytes_per_token : 0.0;
  const double pp_line = fp.active_params > 0 ? peak * 1e9 / static_cast<double>(fp.active_params) : 0.0;
  if (a.json) {
    std::printf(
        "{\"test\":\"roofline\",\"read_gb_per_s\":%.2f,\"weight_bytes_per_token\":%.0f,\"tg_line_tokens_per_s\":%.2f,"
        "\"int8_peak_gmacs\":%.1f,\"macs_per_token\":%lld,\"pp_line_tokens_per_s\":%.1f,\"threads\":%d}\n",
        gbs, fp.bytes_per_token, tg_line, peak, static_cast<long long>(fp.active_params), pp_line, threads);
  } else {
    std::printf("memory read %.1f GB/s, %.1f MiB of weights per token: tg line %.1f tokens/s\n", gbs,
                fp.bytes_per_token / (1 << 20), tg_line);
    std::printf("int8 peak %.1f Gmac/s (%d threads), %.0f M multiply-adds per token: pp line %.1f tokens/s\n", peak,
                threads, static_cast<double>(fp.active_params) / 1e6, pp_line);
  }
  std::fflush(stdout);
}

int run(const BenchArgs& a) {
  if (a.threads > 0) set_num_threads(a.threads);
  const auto load_start = Clock::now();
  auto loaded = load_model(a.model);
  if (!loaded) return fail(loaded.status().message());
  const double load_s = seconds_since(load_start);
  Model& model = *loaded->model;
  const int64_t n_vocab = model.spec().n_vocab;
  // Weights copied into the kernels' layouts at load (their mapped pages are released).
  const auto* repacked = dynamic_cast<const RepackedWeightSource*>(&model.weights());
  const double repacked_mib = repacked != nullptr ? static_cast<double>(repacked->repacked_bytes()) / (1 << 20) : 0.0;

  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(n_vocab - 1));
  auto random_ids = [&](int n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int32_t& id : ids) id = pick(rng);
    return ids;
  };

  const std::string isa(kernels::active_isa_name());
  const int threads = num_threads();
  const KvType cache_type = cache_type_of(a.cache_type);
  std::error_code ec;
  const auto file_bytes = std::filesystem::is_regular_file(a.model, ec) ? std::filesystem::file_size(a.model, ec) : 0;
  if (!a.json)
    std::printf("model %s (%.1f MiB), isa %s, threads %d, load %.2f s, repacked %.1f MiB\n", a.model.c_str(),
                static_cast<double>(file_bytes) / (1 << 20), isa.c_str(), threads, load_s, repacked_mib);

  struct Test {
    const char* prefix;
    int n;
    TimeFn fn;
    int n_seq;
  };
  const Test tests[] = {{"pp", a.n_prompt, time_prompt, 1},
                        {"tg", a.n_gen, time_generation, 1},
                        {"tg", a.parallel > 1 ? a.n_gen : 0, time_generation, a.parallel}};
  for (const Test& test : tests) {
    if (test.n <= 0) continue;
    const int n_ids = test.n * test.n_seq;
    const std::vector<int32_t> ids = random_ids(n_ids);
    auto warm = test.fn(model, ids, cache_type, test.n_seq);  // first touch of the weights, caches, pool
    if (!warm) return fail(warm.status().message());
    std::vector<double> rates;
    for (int r = 0; r < a.reps; ++r) {
      auto s = test.fn(model, random_ids(n_ids), cache_type, test.n_seq);
      if (!s) return fail(s.status().message());
      rates.push_back(n_ids / *s);
    }
    const Stats st = summarize(rates);
    const std::string name =
        test.prefix + std::to_string(test.n) + (test.n_seq > 1 ? "x" + std::to_string(test.n_seq) : std::string());
    if (a.json) {
      std::printf(
          "{\"test\":\"%s\",\"tokens_per_s\":%.3f,\"min\":%.3f,\"max\":%.3f,\"reps\":%d,\"sequences\":%d,"
          "\"isa\":\"%s\",\"threads\":%d,"
          "\"load_s\":%.3f,\"peak_rss_mib\":%.1f,\"model_bytes\":%llu,\"repacked_mib\":%.1f,\"cache_type\":\"%s\"}\n",
          name.c_str(), st.median, st.min, st.max, a.reps, test.n_seq, isa.c_str(), threads, load_s, peak_rss_mib(),
          static_cast<unsigned long long>(file_bytes), repacked_mib, kv_type_name(cache_type));
    } else {
      std::printf("%-8s %10.2f tokens/s  (min %.2f, max %.2f over %d runs)\n", name.c_str(), st.median, st.min,
                  st.max, a.reps);
    }
    std::fflush(stdout);
  }
  if (a.roofline) print_roofline(a, model, *loaded->source, threads);
  if (!a.json) std::printf("peak RSS %.1f MiB\n", peak_rss_mib());
  return 0;
}

const bool kRegistered = add_command("bench", "Measure prompt and generation throughput", [](CLI::App& sub) -> RunFn {
  auto a = std::make_shared<BenchArgs>();
  sub.add_option("model", a->model, "GGUF file or Hugging Face model folder")->required();
  sub.add_option("-p,--n-prompt", a->n_prompt, "Prompt tokens per pp run (0 = skip)")->check(CLI::Range(0, 1 << 20));
  sub.add_option("-n,--n-gen", a->n_gen, "Generated tokens per tg run (0 = skip)")->check(CLI::Range(0, 1 << 20));
  sub.add_option("-r,--repetitions", a->reps, "Timed runs per test")->check(CLI::Range(1, 1000));
  sub.add_option("-t,--threads", a->threads, "Threads (default: available CPUs)")->check(CLI::Range(1, 1024));
  sub.add_option("--parallel", a->parallel, "Also time tg of this many sequences decoding together (batched decode)")
      ->check(CLI::Range(1, 256));
  add_cache_type_option(sub, a->cache_type);
  sub.add_flag("--json", a->json, "One JSON line per test");
  sub.add_flag("--roofline", a->roofline, "Also measure memory bandwidth and the int8 peak (the tg and pp lines)");
  return [a] { return run(*a); };
});

}  // namespace
}  // namespace kaiyuan::cli
