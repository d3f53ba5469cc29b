// `kaiyuan eval MODEL --prompt-ids 1,2,3 --logits OUT.npy`: logits of every position, one batch.
#include "command.h"
#include "format/npy.h"
#include "model_args.h"
#include "runtime/session.h"

namespace kaiyuan::cli {
namespace {

struct EvalArgs {
  std::string model, prompt_ids, logits_path;
  int threads = 0;
};

int eval(const EvalArgs& a) {
  auto ids = parse_id_list(a.prompt_ids);
  if (!ids) return fail(ids.status().message());
  SessionOptions so;
  so.n_threads = a.threads;
  so.n_ctx = static_cast<int64_t>(ids->size());
  auto session = Session::open(a.model, so);
  if (!session) return fail(session.status().message());
  auto logits = (*session)->eval(*ids);
  if (!logits) return fail(logits.status().message());
  const int64_t n_vocab = (*session)->spec().n_vocab;
  Status st = write_npy_f32(a.logits_path, {static_cast<int64_t>(ids->size()), n_vocab}, logits->data());
  if (!st) return fail(st.message());
  return 0;
}

const bool kRegistered = add_command("eval", "Write the logits of every prompt position as .npy", [](CLI::App& sub) -> RunFn {
  auto a = std::make_shared<EvalArgs>();
  sub.add_option("model", a->model, "GGUF file or Hugging Face model folder")->required();
  sub.add_option("--prompt-ids", a->prompt_ids, "Comma-separated token ids (used as given)")->required();
  sub.add_option("--logits", a->logits_path, "Output .npy file: float32 [n_positions, n_vocab]")->required();
  sub.add_option("-t,--threads", a->threads, "Threads")->check(CLI::Range(1, 1024));
  return [a] { return eval(*a); };
});

}  // namespace
}  // namespace kaiyuan::cli
