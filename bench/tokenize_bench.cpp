// Tokenizer throughput: encode and decode speed of one tokenizer on a deterministic ~1 MB
// mixed-language text (English, Chinese, Japanese, Russian, code, numbers, emoji, whitespace runs),
// on one core. The text is built from the fixed snippets below, picked with a fixed-seed mt19937, so
// every run on every machine tokenizes the same bytes.
//
// usage: tokenize_bench TOKENIZER_PATH [--mb 1.0] [--runs 7] [--cpu N] [--dump PREFIX]
//   --dump writes the text to PREFIX.txt and its ids (one per line) to PREFIX.ids, to compare
//   with another tokenizer (e.g. HF `tokenizers`).
//   e.g. build/tokperf/bench/tokenize_bench ../shared/fixtures/tokenizers/qwen3
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

// One snippet per kind of text a chat model sees; each ends with its own separator so that pieces
// join naturally. Whitespace runs (indentation, blank lines, tabs) appear in the code and on their own.
constexpr std::string_view kSnippets[] = {
    // English prose
    "The quick brown fox jumps over the lazy dog. It wasn't the first time, and it won't be the last; "
    "the dog, however, had long since stopped caring about foxes.\n",
    "In 1969, Apollo 11 landed on the Moon. Neil Armstrong's words (\"one small step\") were heard by "
    "an estimated 650 million people worldwide.\n\n",
    "Tokenizers split text into pieces before byte-pair encoding merges them by rank; the result "
    "depends on every detail of the pre-tokenizer's regular expression. ",
    // Chinese
    "人工智能是计算机科学的一个分支，它企图了解智能的实质，并生产出一种新的能以人类智能相似的方式做出反应的智能机器。\n",
    "今天天气很好，我们一起去公园散步吧！你觉得怎么样？北京、上海和广州都是中国的大城市。",
    // Japanese
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。\n",
    "東京タワーは、東京都港区芝公園にある総合電波塔です。カタカナとひらがなを混ぜた文章もテストします。",
    // Russian
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Москва — столица России.\n",
    "Привет, мир! Как дела? Токенизатор должен правильно обрабатывать кириллицу и знаки препинания. ",
    // Code
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n",
    "for (size_t i = 0; i < items.size(); ++i) {\n\tif (items[i].id == target_id) {\n\t\treturn &items[i];\n\t}\n}\n",
    "const response = await fetch(`https://api.example.com/v1/users/${userId}?limit=50`);\nconsole.log(JSON.stringify(data, null, 2));\n",
    "<div class=\"container\"><p id='intro'>Hello &amp; welcome!</p></div>\n",
    // Numbers
    "3.14159265358979 2.71828 1,234,567.89 -42 0x7FFFFFFF 1e-9 2024-06-15T12:34:56Z 192.168.0.1 ",
    "Invoice #000123: 17 items x $19.99 = $339.83 (VAT 20%: $67.97)\n",
    // Emoji and symbols
    "Great job! 🎉🎉🎉 Let's celebrate 🥳🍰 — see you soon 👋🏽 ❤️ 👨‍👩‍👧‍👦 ",
    "😀😃😄😁😆😅🤣😂🙂🙃 ✓ ✗ → ← ∑ ∫ ≈ ≠ ∞ °C ",
    // Whitespace runs
    "        \n\n\n    \t\t  \r\n   ",
    "word    word\t\tword  \n  \n",
    // Accents (NFC already, and one decomposed sequence the normalizer composes)
    "Café, naïve, résumé, Zürich, São Paulo, Ångström. ",
    "Cafe\xCC\x81 de\xCC\x81ja\xCC\x80 vu. ",
};

std::string build_text(size_t target_bytes) {
  std::mt19937 rng(20240615);  // mt19937 output is fixed by the standard; modulo keeps it portable
  constexpr size_t kCount = sizeof(kSnippets) / sizeof(kSnippets[0]);
  std::string text;
  text.reserve(target_bytes + 1024);
  while (text.size() < target_bytes) text += kSnippets[rng() % kCount];
  return text;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of this thread: on a shared, loaded machine wall time counts the other processes too.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string read_loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TOKENIZER_PATH [--mb 1.0] [--runs 7] [--cpu N] [--dump PREFIX]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  double mb = 1.0;
  int runs = 7;
  int cpu = -1;
  std::string dump;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--mb") {
      mb = std::atof(argv[i + 1]);
    } else if (flag == "--runs") {
      runs = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--cpu") {
      cpu = std::atoi(argv[i + 1]);
    } else if (flag == "--dump") {
      dump = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }

  // One core: pin to the given CPU, or to the one we are running on.
  if (cpu < 0) cpu = sched_getcpu();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const bool pinned = sched_setaffinity(0, sizeof(set), &set) == 0;

  const auto load_start = Clock::now();
  auto loaded = kaiyuan::load_tokenizer(path);
  const double load_s = seconds_since(load_start);
  if (!loaded.is_ok()) {
    std::fprintf(stderr, "error: %s\n", loaded.status().message().c_str());
    return 1;
  }
  const kaiyuan::Tokenizer& tokenizer = **loaded;

  if (!(mb > 0 && mb <= 1024)) {
    std::fprintf(stderr, "--mb must be in (0, 1024]\n");
    return 2;
  }
  const std::string text = build_text(static_cast<size_t>(mb * 1e6));
  const double text_mb = static_cast<double>(text.size()) / 1e6;
  const kaiyuan::EncodeOptions options;

  std::vector<double> encode_s, encode_cpu_s, decode_s;
  std::vector<int32_t> ids;
  for (int r = 0; r < runs; ++r) {
    auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    ids = tokenizer.encode(text, options);
    encode_cpu_s.push_back(thread_cpu_seconds() - cpu_start);
    encode_s.push_back(seconds_since(start));
    start = Clock::now();
    const std::string decoded = tokenizer.decode(ids);
    decode_s.push_back(seconds_since(start));
    if (r == 0 && decoded.size() != text.size()) {
      std::printf("note: decode(encode(text)) is %zu bytes, the text %zu (the NFC normalizer composes the "
                  "decomposed accents)\n",
                  decoded.size(), text.size());
    }
  }
  // FNV-1a over the ids: equal checksums = identical output, to compare builds.
  uint64_t checksum = 14695981039346656037ull;
  for (int32_t id : ids) checksum = (checksum ^ static_cast<uint32_t>(id)) * 1099511628211ull;
  const double enc = median(encode_s), enc_cpu = median(encode_cpu_s), dec = median(decode_s);
  std::string command = argv[0];
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  std::printf("command        %s\n", command.c_str());
  std::printf("tokenizer      %s\n", path.c_str());
  std::printf("text           %zu bytes (mixed-language, fixed seed), %zu tokens (%.2f bytes/token)\n",
              text.size(), ids.size(), static_cast<double>(text.size()) / static_cast<double>(ids.size()));
  std::printf("ids checksum   %016llx (FNV-1a)\n", static_cast<unsigned long long>(checksum));
  std::printf("thread         1 (%s cpu %d), load average %s\n", pinned ? "pinned to" : "NOT pinned, on", cpu,
              read_loadavg().c_str());
  std::printf("load           %.1f ms\n", load_s * 1e3);
  std::printf("encode         %.2f MB/s  %.0f tokens/s  (median of %d: %.1f ms; min %.1f ms)\n", text_mb / enc,
              static_cast<double>(ids.size()) / enc, runs, enc * 1e3,
              *std::min_element(encode_s.begin(), encode_s.end()) * 1e3);
  std::printf("encode (cpu)   %.2f MB/s  %.0f tokens/s  (thread CPU time, median of %d: %.1f ms)\n",
              text_mb / enc_cpu, static_cast<double>(ids.size()) / enc_cpu, runs, enc_cpu * 1e3);
  std::printf("decode         %.2f MB/s  %.0f tokens/s  (median of %d: %.1f ms)\n", text_mb / dec,
              static_cast<double>(ids.size()) / dec, runs, dec * 1e3);
  if (!dump.empty()) {
    std::ofstream(dump + ".txt", std::ios::binary) << text;
    std::ofstream ids_out(dump + ".ids");
    for (int32_t id : ids) ids_out << id << '\n';
  }
  return 0;
}
