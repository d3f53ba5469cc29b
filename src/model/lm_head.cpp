#include "model/lm_head.h"

#include <algorithm>

#include "core/mapped_file.h"
#include "kernels/ops.h"
#include "model/weights.h"

namespace kaiyuan {

Result<LmHead> bind_lm_head(const WeightSource& w, const ModelSpec& s) {
  LmHead head;
  KY_ASSIGN_OR_RETURN(head.token_embd, bind_mapped_matrix(w, "token_embd.weight", s.n_vocab, s.d_model));
  KY_ASSIGN_OR_RETURN(head.output, bind_optional_matrix(w, "output.weight", s.n_vocab, s.d_model));
  if (head.output == nullptr) {
    if (!s.tied_embeddings && s.source == "hf")
      return Error("missing tensor 'output.weight' (lm_head.weight) and tie_word_embeddings is false");
    // Tied: the logits read the embedding as a matrix (possibly a repacked copy of it), and so do
    // the lookups (dequantize_row unpacks a repacked row bit for bit). The repacking released the
    // mapped rows; looking tokens up there would map them back, 64 KB of file pages per token (the
    // kernel maps the pages around a fault), up to the whole matrix over a long run: measured 156
    // of a 165 MB Q8_0 embedding resident next to its repacked copy after 4096 random tokens.
    KY_ASSIGN_OR_RETURN(head.output, bind_matrix(w, "token_embd.weight", s.n_vocab, s.d_model));
    head.token_embd = head.output;
  }
  if (head.token_embd != head.output) {
    // Untied: lookups read single rows of the mapped table. With whole 2 MiB folios mapped per
    // lookup, 512 random tokens brought back most of a 297 MiB BF16 table (Qwen3-MoE peak RSS
    // 2725 -> 3058 MiB).
    advise_sparse_reads(head.token_embd->data, head.token_embd->nbytes);
    head.mapped_rows = &w;
  }
  KY_ASSIGN_OR_RETURN(head.output_norm, load_vector(w, "output_norm.weight", s.d_model, true));
  return head;
}

void embed_tokens(const LmHead& head, const int32_t* tokens, int64_t n, int64_t d_model, float* x) {
  const TensorView& table = *head.token_embd;
  for (int64_t t = 0; t < n; ++t) kernels::dequantize_row(table, tokens[t], x + t * d_model);
  if (head.mapped_rows == nullptr) return;
  // Release the 2 MiB-aligned regions the rows lie in (a folio is mapped whole), each once.
  constexpr uintptr_t kRegion = uintptr_t{2} << 20;
  const auto base = reinterpret_cast<uintptr_t>(table.data);
  std::vector<uintptr_t> regions;
  regions.reserve(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) regions.push_back((base + static_cast<uintptr_t>(tokens[t]) * table.row_stride()) / kRegion);
  std::sort(regions.begin(), regions.end());
  regions.erase(std::unique(regions.begin(), regions.end()), regions.end());
  for (uintptr_t r : regions) {
    // Inside the table only: the neighbouring tensors' pages are someone else's to keep.
    const uintptr_t lo = std::max(r * kRegion, base), hi = std::min((r + 1) * kRegion, base + table.nbytes);
    head.mapped_rows->release_mapped_range(reinterpret_cast<const void*>(lo), hi - lo);
  }
}

void compute_logits(const LmHead& head, const ModelSpec& s, const Batch& batch, const float* x,
                    std::vector<float>& h, std::vector<float>& logits) {
  const int64_t n_out = static_cast<int64_t>(batch.n_outputs());
  h.resize(static_cast<size_t>(n_out * s.d_model));
  int64_t row = 0;
  for (size_t t = 0; t < batch.size(); ++t) {
    if (!batch.want_logits[t]) continue;
    kernels::rmsnorm(x + static_cast<int64_t>(t) * s.d_model, head.output_norm.data(), s.d_model, s.norm_eps,
                     &h[static_cast<size_t>(row * s.d_model)]);
    ++row;
  }
  logits.resize(static_cast<size_t>(n_out * s.n_vocab));
  kernels::matmul(*head.output, h.data(), n_out, logits.data());
}

}  // namespace kaiyuan
