// kaiyuan: the command-line front end. Each subcommand lives in its own file and registers itself.
#include <algorithm>
#include <cstdio>
#include <map>

#include "command.h"
#include "kernels/dispatch.h"

namespace kaiyuan::cli {

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

}  // namespace kaiyuan::cli

int main(int argc, char** argv) {
  using namespace kaiyuan::cli;
  CLI::App app{"kaiyuan: run open-weight LLMs fast on ordinary CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    return std::string("kaiyuan 0.1.0 (kernels: ") + std::string(kaiyuan::kernels::active_isa_name()) + ")";
  });
  auto commands = registry();
  std::sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::map<CLI::App*, RunFn> runners;
  for (const Command& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.description);
    runners[sub] = c.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  return 2;
}
