// UTF-8 helpers: Python strings index, slice and measure by code point, and strip Unicode
// whitespace (str.isspace), so the interpreter does too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kaiyuan::jinja {

// Each code point as its own UTF-8 string; invalid bytes count as one character each.
std::vector<std::string> utf8_chars(const std::string& s);
size_t utf8_length(const std::string& s);
// Decodes the code point at s[i] and advances i (an invalid byte decodes as itself).
uint32_t utf8_next(const std::string& s, size_t& i);
void utf8_append(std::string& out, uint32_t cp);
// Python str.isspace() for one code point.
bool is_python_space(uint32_t cp);
// Python str.strip()/lstrip()/rstrip(): with `chars` null, Unicode whitespace.
std::string python_strip(const std::string& s, const std::string* chars, bool left, bool right);

}  // namespace kaiyuan::jinja
