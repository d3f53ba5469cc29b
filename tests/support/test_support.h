// Helpers shared by the test suites: fixture paths, .npy reading, running the CLI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kaiyuan::test {

// ../shared/fixtures (or $KAIYUAN_FIXTURES) joined with `rel`.
std::string fixture_path(const std::string& rel);
// Path of the built `kaiyuan` binary.
std::string kaiyuan_binary();

nlohmann::json read_json(const std::string& path);
std::vector<nlohmann::json> read_jsonl(const std::string& path);
std::string read_file(const std::string& path);

// A float32 little-endian C-order .npy array.
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
NpyArray read_npy(const std::string& path);

// Runs a shell command; returns exit status, captures stdout (and stderr when asked).
struct CommandResult {
  int exit_code = -1;
  std::string out;
};
CommandResult run_command(const std::string& command, const std::string& stdin_text = "");

// A fresh temporary directory, removed by the OS eventually (tests write small files only).
std::string temp_dir();

// Fields of the /proc/self/smaps entry for the mapping that contains `p`: its VmFlags line ("" if
// no mapping holds p) and its resident kB.
struct MappingInfo {
  std::string vm_flags;
  long rss_kb = -1;
};
MappingInfo mapping_of(const void* p);

}  // namespace kaiyuan::test
