// validate(SamplingParams): the ranges requests may ask for, with messages naming the parameter.
#include <cmath>
#include <cstdio>
#include <string>

#include "sampling/sampler.h"

namespace kaiyuan {
namespace {

std::string format_float(float value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", static_cast<double>(value));
  return text;
}

Status check_finite(const char* name, float value) {
  if (std::isfinite(value)) return Status::ok();
  return Error(std::string(name) + " must be a finite number, got " + format_float(value));
}

// OpenAI's API documents presence_penalty and frequency_penalty as numbers between -2.0 and 2.0.
Status check_openai_penalty(const char* name, float value) {
  if (value >= -2.0f && value <= 2.0f) return Status::ok();
  return Error(std::string(name) + " must be between -2 and 2, got " + format_float(value));
}

}  // namespace

Status validate(const SamplingParams& p) {
  KY_RETURN_IF_ERROR(check_finite("temperature", p.temperature));
  KY_RETURN_IF_ERROR(check_finite("top_p", p.top_p));
  KY_RETURN_IF_ERROR(check_finite("min_p", p.min_p));
  KY_RETURN_IF_ERROR(check_finite("repetition_penalty", p.repetition_penalty));
  KY_RETURN_IF_ERROR(check_finite("presence_penalty", p.presence_penalty));
  KY_RETURN_IF_ERROR(check_finite("frequency_penalty", p.frequency_penalty));
  if (p.temperature < 0.0f) {
    return Error("temperature must be >= 0 (0 means greedy), got " + format_float(p.temperature));
  }
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return Error("top_p must be in (0, 1] (1 disables it), got " + format_float(p.top_p));
  }
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) {
    return Error("min_p must be in [0, 1] (0 disables it), got " + format_float(p.min_p));
  }
  if (p.repetition_penalty <= 0.0f) {
    return Error("repetition_penalty must be > 0 (1 disables it), got " +
                 format_float(p.repetition_penalty));
  }
  KY_RETURN_IF_ERROR(check_openai_penalty("presence_penalty", p.presence_penalty));
  KY_RETURN_IF_ERROR(check_openai_penalty("frequency_penalty", p.frequency_penalty));
  if (p.penalty_last_n < -1) {
    return Error("penalty_last_n must be -1 (whole history), 0 (disabled) or positive, got " +
                 std::to_string(p.penalty_last_n));
  }
  return Status::ok();
}

}  // namespace kaiyuan
