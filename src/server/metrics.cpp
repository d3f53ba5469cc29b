#include "server/metrics.h"

#include <cstdio>

namespace kaiyuan::server {
namespace {
std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(const std::string& name, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

void Metrics::count_request(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::count_tokens(int64_t prompt, int64_t generated) {
  std::lock_guard<std::mutex> lock(mutex_);
  prompt_tokens_ += prompt;
  generated_tokens_ += generated;
}

void Metrics::observe_time_to_first_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ttft_.observe(seconds);
}

void Metrics::observe_tokens_per_second(double tps) {
  std::lock_guard<std::mutex> lock(mutex_);
  tps_.observe(tps);
}

std::string Metrics::render(const EngineStats& engine) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP kaiyuan_requests_total HTTP requests by route and status.\n# TYPE kaiyuan_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "kaiyuan_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  out += "# HELP kaiyuan_prompt_tokens_total Prompt tokens processed.\n# TYPE kaiyuan_prompt_tokens_total counter\n";
  out += "kaiyuan_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  out += "# HELP kaiyuan_generated_tokens_total Tokens generated.\n# TYPE kaiyuan_generated_tokens_total counter\n";
  out += "kaiyuan_generated_tokens_total " + std::to_string(generated_tokens_) + "\n";
  out += "# HELP kaiyuan_prompt_tokens_reused_total Prompt tokens whose keys/values were reused from the cache.\n";
  out += "# TYPE kaiyuan_prompt_tokens_reused_total counter\n";
  out += "kaiyuan_prompt_tokens_reused_total " + std::to_string(engine.prompt_tokens_reused) + "\n";
  out += "# HELP kaiyuan_forward_steps_total Batched forward passes run.\n# TYPE kaiyuan_forward_steps_total counter\n";
  out += "kaiyuan_forward_steps_total " + std::to_string(engine.forward_steps) + "\n";
  out += "# HELP kaiyuan_queue_depth Requests waiting for a slot.\n# TYPE kaiyuan_queue_depth gauge\n";
  out += "kaiyuan_queue_depth " + std::to_string(engine.queued) + "\n";
  out += "# HELP kaiyuan_active_sequences Sequences being generated.\n# TYPE kaiyuan_active_sequences gauge\n";
  out += "kaiyuan_active_sequences " + std::to_string(engine.active) + "\n";
  out += "# HELP kaiyuan_slots Sequences that can be generated at once (--parallel).\n# TYPE kaiyuan_slots gauge\n";
  out += "kaiyuan_slots " + std::to_string(engine.n_parallel) + "\n";
  out += "# HELP kaiyuan_time_to_first_token_seconds Time from request to first generated token.\n";
  out += "# TYPE kaiyuan_time_to_first_token_seconds histogram\n";
  ttft_.render("kaiyuan_time_to_first_token_seconds", out);
  out += "# HELP kaiyuan_tokens_per_second Generation speed of each finished request.\n";
  out += "# TYPE kaiyuan_tokens_per_second histogram\n";
  tps_.render("kaiyuan_tokens_per_second", out);
  return out;
}

}  // namespace kaiyuan::server
