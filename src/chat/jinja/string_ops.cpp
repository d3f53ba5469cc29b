// Python str semantics for split/replace/title/capitalize.
#include "chat/jinja/string_ops.h"

#include <algorithm>

#include "chat/jinja/error.h"
#include "chat/jinja/utf8.h"

namespace kaiyuan::jinja {

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string python_title(const std::string& s) {
  std::string out = s;
  bool prev_cased = false;
  for (char& c : out) {
    if (is_alpha(c)) {
      c = prev_cased ? ascii_lower(std::string(1, c))[0] : ascii_upper(std::string(1, c))[0];
      prev_cased = true;
    } else {
      // Non-ASCII bytes (letters in other scripts) keep the word going, as Python's isalpha would.
      prev_cased = static_cast<unsigned char>(c) >= 0x80 ? prev_cased : false;
    }
  }
  return out;
}

std::string python_capitalize(const std::string& s) {
  std::string out = ascii_lower(s);
  if (!out.empty()) out[0] = ascii_upper(out.substr(0, 1))[0];
  return out;
}

std::string python_replace(const std::string& s, const std::string& from, const std::string& to, long long count) {
  if (from.empty()) {
    // Python inserts `to` before every character and at the end.
    std::string out;
    long long done = 0;
    for (const std::string& ch : utf8_chars(s)) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += ch;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  std::string out;
  size_t pos = 0;
  long long done = 0;
  while (count < 0 || done < count) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::vector<std::string> python_split(const std::string& s, const std::string* sep, long long maxsplit,
                                      bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) raise("empty separator");
    if (!from_right) {
      size_t pos = 0;
      while (maxsplit < 0 || static_cast<long long>(parts.size()) < maxsplit) {
        const size_t hit = s.find(*sep, pos);
        if (hit == std::string::npos) break;
        parts.push_back(s.substr(pos, hit - pos));
        pos = hit + sep->size();
      }
      parts.push_back(s.substr(pos));
      return parts;
    }
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<long long>(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t hit = s.rfind(*sep, end - sep->size());
      if (hit == std::string::npos) break;
      parts.push_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    parts.push_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Whitespace split: runs of whitespace separate, no empty strings at either end.
  std::vector<std::pair<size_t, size_t>> words;  // byte ranges
  std::vector<size_t> starts;
  std::vector<bool> space;
  for (size_t i = 0; i < s.size();) {
    starts.push_back(i);
    space.push_back(is_python_space(utf8_next(s, i)));
  }
  starts.push_back(s.size());
  for (size_t k = 0; k < space.size();) {
    if (space[k]) {
      ++k;
      continue;
    }
    size_t e = k;
    while (e < space.size() && !space[e]) ++e;
    words.emplace_back(starts[k], starts[e]);
    k = e;
  }
  if (maxsplit < 0 || static_cast<long long>(words.size()) <= maxsplit + 0) {
    for (auto [b, e] : words) parts.push_back(s.substr(b, e - b));
    return parts;
  }
  if (!from_right) {
    for (long long i = 0; i < maxsplit; ++i) parts.push_back(s.substr(words[i].first, words[i].second - words[i].first));
    std::string rest = s.substr(words[static_cast<size_t>(maxsplit)].first);
    parts.push_back(rest);
    return parts;
  }
  const size_t keep = words.size() - static_cast<size_t>(maxsplit);
  parts.push_back(s.substr(0, words[keep - 1].second));
  for (size_t i = keep; i < words.size(); ++i) parts.push_back(s.substr(words[i].first, words[i].second - words[i].first));
  return parts;
}

}  // namespace kaiyuan::jinja
