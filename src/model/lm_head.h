// The ends every architecture shares: the token embedding, the final norm and the output
// projection (tied to the embedding when the checkpoint has no separate one).
#pragma once

#include <vector>

#include "core/status.h"
#include "format/weight_source.h"
#include "model/batch.h"
#include "model/spec.h"

namespace kaiyuan {

struct LmHead {
  const TensorView* token_embd = nullptr;  // [n_vocab, d_model]; when tied, == output (maybe repacked)
  const TensorView* output = nullptr;      // [n_vocab, d_model], == token_embd when tied
  std::vector<float> output_norm;          // [d_model]
  // Untied: the source whose mapping token_embd's rows are read from (embed_tokens releases them).
  const WeightSource* mapped_rows = nullptr;
};

Result<LmHead> bind_lm_head(const WeightSource& w, const ModelSpec& s);

// x[t] = the embedding row of tokens[t], t < n. Rows read from a mapped table (untied) are
// released afterwards: with 2 MiB page-cache folios a lookup maps its whole folio, and a run of
// random tokens would bring back most of the table (232 of a 297 MiB BF16 table after 768).
void embed_tokens(const LmHead& head, const int32_t* tokens, int64_t n, int64_t d_model, float* x);

// Final norm and output projection for the tokens of `batch` that want logits.
// x: [n_tokens, d_model] hidden states; h: scratch resized to [n_out, d_model];
// logits: [n_out, n_vocab].
void compute_logits(const LmHead& head, const ModelSpec& s, const Batch& batch, const float* x,
                    std::vector<float>& h, std::vector<float>& logits);

}  // namespace kaiyuan
