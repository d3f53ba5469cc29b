// Python str operations shared by string methods and filters (ASCII case mapping, as the chat
// templates only case-map ASCII role names and keywords).
#pragma once

#include <string>
#include <vector>

namespace kaiyuan::jinja {

std::string ascii_lower(std::string s);
std::string ascii_upper(std::string s);
std::string python_title(const std::string& s);       // str.title()
std::string python_capitalize(const std::string& s);  // str.capitalize()
// str.replace(old, new, count); count < 0 replaces all.
std::string python_replace(const std::string& s, const std::string& from, const std::string& to, long long count);
// str.split(sep, maxsplit) / str.rsplit: sep null splits on runs of whitespace.
std::vector<std::string> python_split(const std::string& s, const std::string* sep, long long maxsplit, bool from_right);

}  // namespace kaiyuan::jinja
