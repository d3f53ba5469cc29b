// Subcommands register themselves here (one file per subcommand), so adding one touches one file.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kaiyuan::cli {

// `setup` adds the subcommand's options to `sub` and returns the function that runs it; that
// function returns the process exit code (0 ok, 1 runtime error, 2 bad arguments).
using RunFn = std::function<int()>;
using SetupFn = std::function<RunFn(CLI::App& sub)>;

struct Command {
  std::string name;
  std::string description;
  SetupFn setup;
};

std::vector<Command>& registry();
inline bool add_command(std::string name, std::string description, SetupFn setup) {
  registry().push_back({std::move(name), std::move(description), std::move(setup)});
  return true;
}

// Prints "error: <message>" to stderr and returns 1: the one way commands report failures.
int fail(const std::string& message);

}  // namespace kaiyuan::cli
