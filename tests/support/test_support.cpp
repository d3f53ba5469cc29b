#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kaiyuan::test {

std::string fixture_path(const std::string& rel) {
  const char* env = std::getenv("KAIYUAN_FIXTURES");
  std::string base = env != nullptr ? env : KAIYUAN_FIXTURES_DIR;
  return base + "/" + rel;
}

std::string kaiyuan_binary() {
  const char* env = std::getenv("KAIYUAN_BIN");
  return env != nullptr ? env : KAIYUAN_BINARY;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error(path + ": not .npy");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else {
    uint32_t n;
    std::memcpy(&n, bytes.data() + 8, 4);
    header_len = n;
    header_start = 12;
  }
  const std::string header = bytes.substr(header_start, header_len);
  if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path + ": expected little-endian float32 C-order, header " + header);
  NpyArray arr;
  const size_t lp = header.find('(');
  const size_t rp = header.find(')', lp);
  std::string dims = header.substr(lp + 1, rp - lp - 1);
  std::istringstream ds(dims);
  std::string tok;
  int64_t count = 1;
  while (std::getline(ds, tok, ',')) {
    if (tok.find_first_not_of(" ") == std::string::npos) continue;
    arr.shape.push_back(std::stoll(tok));
    count *= arr.shape.back();
  }
  const size_t data_start = header_start + header_len;
  if (bytes.size() < data_start + count * 4) throw std::runtime_error(path + ": truncated");
  arr.data.resize(count);
  std::memcpy(arr.data.data(), bytes.data() + data_start, count * 4);
  return arr;
}

CommandResult run_command(const std::string& command, const std::string& stdin_text) {
  const std::string dir = temp_dir();
  const std::string in_path = dir + "/stdin";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << stdin_text;
  }
  CommandResult result;
  std::string full = "(" + command + ") < '" + in_path + "'";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr ? base : "/tmp") + "/kaiyuan-test-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return std::string(buf.data());
}

MappingInfo mapping_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  MappingInfo info;
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    long kb = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's header line
      inside = addr >= lo && addr < hi;
    } else if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) {
      info.rss_kb = kb;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      info.vm_flags = line;
      return info;
    }
  }
  return info;
}

}  // namespace kaiyuan::test
