// `kaiyuan tokenize PATH [--add-special] [--json]` and `kaiyuan detokenize PATH`: the model's
// tokenizer on stdin, byte for byte. PATH: a GGUF file (vocab-only too), a Hugging Face model
// folder, or a folder holding only tokenizer files.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan::cli {
namespace {

std::string read_stdin() {
  std::ios::sync_with_stdio(false);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

void write_stdout(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

// Pieces are printed as the vocab spells them; only control characters are escaped so that each
// token stays on its own "id\tpiece" line.
std::string printable_piece(const std::string& piece) {
  std::string out;
  for (char c : piece) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (b < 0x20 || b == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", b);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

struct TokenizeArgs {
  std::string path;
  bool add_special = false;
  bool json = false;
  bool no_parse_special = false;
};

int tokenize(const TokenizeArgs& args) {
  auto tokenizer = load_tokenizer(args.path);
  if (!tokenizer) return fail(tokenizer.status().message());
  const std::string text = read_stdin();
  const EncodeOptions options{.add_special = args.add_special, .parse_special = !args.no_parse_special};
  const std::vector<int32_t> ids = (*tokenizer)->encode(text, options);
  std::string out;
  if (args.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int32_t id : ids) tokens.push_back((*tokenizer)->token_string(id));
    const nlohmann::json j = {{"ids", ids}, {"tokens", tokens}};
    out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    for (int32_t id : ids) out += std::to_string(id) + "\t" + printable_piece((*tokenizer)->token_string(id)) + "\n";
  }
  write_stdout(out);
  return 0;
}

// Whitespace-separated decimal ids; every one must name a token of this vocabulary.
Result<std::vector<int32_t>> parse_ids(const std::string& text, int32_t n_vocab) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    if (item.size() > 10 || item.find_first_not_of("0123456789") != std::string::npos)
      return Error("\"" + item + "\" is not a token id (expected a non-negative integer)");
    const long long id = std::stoll(item);
    if (id >= n_vocab)
      return Error("token id " + item + " is outside the vocabulary (0.." + std::to_string(n_vocab - 1) + ")");
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

int detokenize(const std::string& path, bool skip_special) {
  auto tokenizer = load_tokenizer(path);
  if (!tokenizer) return fail(tokenizer.status().message());
  auto ids = parse_ids(read_stdin(), (*tokenizer)->n_vocab());
  if (!ids) return fail(ids.status().message());
  write_stdout((*tokenizer)->decode(*ids, skip_special));
  return 0;
}

const bool kTokenizeRegistered = add_command(
    "tokenize", "Print the token ids and pieces of the text on stdin", [](CLI::App& sub) -> RunFn {
      auto args = std::make_shared<TokenizeArgs>();
      sub.add_option("path", args->path, "GGUF file, model folder, or folder with tokenizer files")->required();
      sub.add_flag("--add-special", args->add_special, "Add what the tokenizer configuration adds (BOS...)");
      sub.add_flag("--json", args->json, "One line: {\"ids\":[...],\"tokens\":[...]}");
      sub.add_flag("--no-parse-special", args->no_parse_special, "Treat special-token text (\"<s>\") as plain text");
      return [args] { return tokenize(*args); };
    });

const bool kDetokenizeRegistered = add_command(
    "detokenize", "Print the text of the whitespace-separated token ids on stdin", [](CLI::App& sub) -> RunFn {
      auto path = std::make_shared<std::string>();
      auto skip_special = std::make_shared<bool>(false);
      sub.add_option("path", *path, "GGUF file, model folder, or folder with tokenizer files")->required();
      sub.add_flag("--skip-special", *skip_special, "Leave out special tokens (<s>, </s>...)");
      return [path, skip_special] { return detokenize(*path, *skip_special); };
    });

}  // namespace
}  // namespace kaiyuan::cli
