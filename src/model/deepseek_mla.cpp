// Multi-head latent attention: weight binding (HF kv_b_proj or GGUF attn_k_b/attn_v_b) and the
// absorbed forward pass. Shapes follow HF DeepseekV3Attention; the absorption follows llama.cpp
// (src/models/deepseek2.cpp, MLA branch) and DeepSeek-V3's inference/model.py (attn_impl "absorb").
#include "model/deepseek_mla.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/ops.h"
#include "kernels/quant/quant.h"
#include "model/weights.h"
#include "model/yarn.h"

namespace kaiyuan {
namespace {

// Score-matrix floats per chunk of query tokens (16 MiB), and the most tokens per chunk.
constexpr int64_t kMlaScoreBudget = int64_t{1} << 22;
constexpr int64_t kMlaMaxChunk = 64;

// Rows [first, first + n) of a row-major matrix (any dtype: rows are whole blocks).
TensorView row_block(const TensorView& t, int64_t first, int64_t n) {
  TensorView v;
  v.name = t.name;
  v.dtype = t.dtype;
  v.shape = {n, t.cols()};
  const size_t stride = t.row_stride();
  v.data = t.data + static_cast<size_t>(first) * stride;
  v.nbytes = static_cast<size_t>(n) * stride;
  return v;
}

// A tensor of exactly `shape` (any rank) whose rows the kernels can dequantize.
Result<const TensorView*> bind_shaped(const WeightSource& src, const std::string& name,
                                      const std::vector<int64_t>& shape) {
  const TensorView* t = src.find(name);
  if (t == nullptr) return Error("missing tensor '" + name + "' (expected shape " + shape_string(shape) + ")");
  if (t->shape != shape) return Error(name + ": shape " + shape_string(t->shape) + ", expected " + shape_string(shape));
  if (quant::quant_traits(t->dtype) == nullptr)
    return Error(name + ": tensor type " + std::string(dtype_name(t->dtype)) + " is not supported");
  const auto bytes = row_bytes(t->dtype, t->cols());
  if (!bytes || *bytes * static_cast<size_t>(t->rows()) != t->nbytes)
    return Error(name + ": " + std::to_string(t->nbytes) + " bytes of data do not match type " +
                 std::string(dtype_name(t->dtype)) + " and shape " + shape_string(t->shape));
  return t;
}

// A row-major f32 buffer [rows, cols] as a matrix the matmul kernels take (attend's two products).
TensorView f32_matrix(const char* name, const float* data, int64_t rows, int64_t cols) {
  TensorView v;
  v.name = name;
  v.shape = {rows, cols};
  v.data = reinterpret_cast<const uint8_t*>(data);
  v.nbytes = static_cast<size_t>(rows * cols) * sizeof(float);
  return v;
}

// Q4_0 / Q5_0 -> Q8_0 with each block's own scale: their levels (0..15 - 8, 0..31 - 16) times d are
// exactly d times a small integer, so the copy is lossless. llama.cpp's quantizer gives attn_k_b
// Q5_0 in Q4_K_M files (its rows of qk_nope_head_dim are no multiple of 256), and the Q8_0 form
// has the fast packed kernels (16% of a DeepSeek-shape prompt went to the Q5_0 path).
TensorView widen_to_q8_0(const TensorView& t, std::vector<uint8_t>& storage) {
  const int64_t rows = t.rows(), cols = t.cols(), blocks = cols / quant::kQK;
  if (blocks == 0 || rows == 0) return t;
  const size_t row_out = static_cast<size_t>(blocks) * sizeof(quant::BlockQ8_0);
  storage.assign(row_out * static_cast<size_t>(rows), 0);
  const size_t src_block = t.row_stride() / static_cast<size_t>(blocks);
  std::vector<float> values(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    kernels::dequantize_row(t, r, values.data());
    const uint8_t* src = t.data + static_cast<size_t>(r) * t.row_stride();
    auto* dst = reinterpret_cast<quant::BlockQ8_0*>(storage.data() + static_cast<size_t>(r) * row_out);
    for (int64_t b = 0; b < blocks; ++b) {
      uint16_t d16;
      std::memcpy(&d16, src + static_cast<size_t>(b) * src_block, sizeof(d16));  // both start with f16 d
      const float d = f16_to_f32(d16);
      dst[b].d = d16;
      for (int64_t k = 0; k < quant::kQK; ++k)
        dst[b].qs[k] = static_cast<int8_t>(d != 0.0f ? std::lround(values[static_cast<size_t>(b * quant::kQK + k)] / d) : 0);
    }
  }
  TensorView out = t;
  out.name = t.name + " (as Q8_0)";
  out.dtype = DType::Q8_0;
  out.data = storage.data();
  out.nbytes = storage.size();
  return out;
}

// HF kv_b_proj [n_heads * (nope + v_head), kv_lora]: per head, rows [0, nope) map the latent to
// k_nope, rows [nope, nope + v_head) to v. The absorbed form needs the k part transposed
// ([kv_lora, nope]: q_nope -> latent), built once here: element types are transposed as they are
// (exact, same size), block-quantized ones (old GGUFs) are dequantized to f32.
void derive_from_kv_b(const TensorView& kv_b, const MlaSpec& m, int64_t n_heads, MlaWeights& w) {
  const int64_t nope = m.qk_nope_head_dim, kvl = m.kv_lora_rank, per_head = nope + m.v_head_dim;
  const quant::QuantTraits* traits = quant::quant_traits(kv_b.dtype);
  const bool elementwise = traits->block_elems == 1;
  const DType out_type = elementwise ? kv_b.dtype : DType::F32;
  const size_t es = elementwise ? traits->block_bytes : sizeof(float);
  const size_t head_bytes = static_cast<size_t>(kvl * nope) * es;
  w.k_b_storage.assign(head_bytes * static_cast<size_t>(n_heads), 0);
  std::vector<float> row(static_cast<size_t>(kvl));
  for (int64_t h = 0; h < n_heads; ++h) {
    uint8_t* dst = w.k_b_storage.data() + static_cast<size_t>(h) * head_bytes;
    for (int64_t d = 0; d < nope; ++d) {
      const uint8_t* src = kv_b.data + static_cast<size_t>(h * per_head + d) * kv_b.row_stride();
      if (!elementwise) kernels::dequantize_row(kv_b, h * per_head + d, row.data());
      for (int64_t c = 0; c < kvl; ++c) {
        uint8_t* out = dst + static_cast<size_t>(c * nope + d) * es;
        if (elementwise)
          std::memcpy(out, src + static_cast<size_t>(c) * es, es);
        else
          std::memcpy(out, &row[static_cast<size_t>(c)], es);
      }
    }
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    TensorView k;
    k.name = kv_b.name + " (k part, transposed)";
    k.dtype = out_type;
    k.shape = {kvl, nope};
    k.data = w.k_b_storage.data() + static_cast<size_t>(h) * head_bytes;
    k.nbytes = head_bytes;
    w.k_b.push_back(k);
    w.v_b.push_back(row_block(kv_b, h * per_head + nope, m.v_head_dim));
  }
}

}  // namespace

Result<MlaWeights> bind_mla_weights(const WeightSource& src, const ModelSpec& s, int64_t layer) {
  const MlaSpec& m = s.mla;
  const std::string p = "blk." + std::to_string(layer) + ".";
  const int64_t q_out = s.n_heads * m.qk_head_dim();
  MlaWeights w;
  KY_ASSIGN_OR_RETURN(w.attn_norm, load_vector(src, p + "attn_norm.weight", s.d_model, true));
  if (m.q_lora_rank > 0) {
    KY_ASSIGN_OR_RETURN(w.wq_a, bind_matrix(src, p + "attn_q_a.weight", m.q_lora_rank, s.d_model));
    KY_ASSIGN_OR_RETURN(w.q_a_norm, load_vector(src, p + "attn_q_a_norm.weight", m.q_lora_rank, true));
    KY_ASSIGN_OR_RETURN(w.wq_b, bind_matrix(src, p + "attn_q_b.weight", q_out, m.q_lora_rank));
  } else {
    KY_ASSIGN_OR_RETURN(w.wq, bind_matrix(src, p + "attn_q.weight", q_out, s.d_model));
  }
  KY_ASSIGN_OR_RETURN(w.wkv_a, bind_matrix(src, p + "attn_kv_a_mqa.weight", m.cache_width(), s.d_model));
  KY_ASSIGN_OR_RETURN(w.kv_a_norm, load_vector(src, p + "attn_kv_a_norm.weight", m.kv_lora_rank, true));
  if (src.find(p + "attn_k_b.weight") != nullptr) {
    // llama.cpp's split: attn_k_b {n_heads, kv_lora, nope} (k part already transposed),
    // attn_v_b {n_heads, v_head, kv_lora} (convert_hf_to_gguf.py DeepseekV2Model.modify_tensors).
    KY_ASSIGN_OR_RETURN(const TensorView* k_b,
                        bind_shaped(src, p + "attn_k_b.weight", {s.n_heads, m.kv_lora_rank, m.qk_nope_head_dim}));
    KY_ASSIGN_OR_RETURN(const TensorView* v_b,
                        bind_shaped(src, p + "attn_v_b.weight", {s.n_heads, m.v_head_dim, m.kv_lora_rank}));
    const auto widened = [](const TensorView* t, std::vector<uint8_t>& storage) {
      return t->dtype == DType::Q4_0 || t->dtype == DType::Q5_0 ? widen_to_q8_0(*t, storage) : *t;
    };
    const TensorView k_all = widened(k_b, w.k_b_storage), v_all = widened(v_b, w.v_b_storage);
    for (int64_t h = 0; h < s.n_heads; ++h) {
      w.k_b.push_back(row_block(k_all, h * m.kv_lora_rank, m.kv_lora_rank));
      w.v_b.push_back(row_block(v_all, h * m.v_head_dim, m.v_head_dim));
    }
  } else {
    // Read row by row and sliced into per-head blocks below: the file's own row layout.
    KY_ASSIGN_OR_RETURN(const TensorView* kv_b, bind_mapped_matrix(src, p + "attn_kv_b.weight",
                                                            s.n_heads * (m.qk_nope_head_dim + m.v_head_dim),
                                                            m.kv_lora_rank));
    derive_from_kv_b(*kv_b, m, s.n_heads, w);
  }
  KY_ASSIGN_OR_RETURN(w.wo, bind_matrix(src, p + "attn_output.weight", s.d_model, s.n_heads * m.v_head_dim));
  return w;
}

MlaAttention::MlaAttention(const ModelSpec& spec) : spec_(spec) {
  const MlaSpec& m = spec.mla;
  if (m.yarn) {
    inv_freq_ = yarn_inv_freq(spec.rope_theta, m.qk_rope_head_dim, m.yarn_params);
    rope_attn_factor_ = static_cast<float>(m.yarn_params.rope_attn_factor);
  } else {
    for (int64_t i = 0; i < m.qk_rope_head_dim / 2; ++i)
      inv_freq_.push_back(static_cast<float>(
          std::pow(spec.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(m.qk_rope_head_dim))));
  }
  softmax_scale_ = static_cast<float>(m.softmax_scale);
}

// q_ [n, n_heads * qk_head_dim] = W_q_b · norm(W_q_a · x)  (or W_q · x without q LoRA)
void MlaAttention::project_q(const MlaWeights& w, const float* x, int64_t n) {
  const MlaSpec& m = spec_.mla;
  q_.resize(static_cast<size_t>(n * spec_.n_heads * m.qk_head_dim()));
  if (w.wq != nullptr) {
    kernels::matmul(*w.wq, x, n, q_.data());
    return;
  }
  q_a_.resize(static_cast<size_t>(n * m.q_lora_rank));
  kernels::matmul(*w.wq_a, x, n, q_a_.data());
  for (int64_t t = 0; t < n; ++t) {
    float* row = &q_a_[static_cast<size_t>(t * m.q_lora_rank)];
    kernels::rmsnorm(row, w.q_a_norm.data(), m.q_lora_rank, spec_.norm_eps, row);
  }
  kernels::matmul(*w.wq_b, q_a_.data(), n, q_.data());
}

// Per token: [latent | k_pe] = W_kv_a · x; the cache row is [rmsnorm(latent) | rope(k_pe)].
void MlaAttention::write_cache(const MlaWeights& w, int64_t layer, const Batch& batch, KvCache& cache,
                               const float* x) {
  const MlaSpec& m = spec_.mla;
  const int64_t n = static_cast<int64_t>(batch.size()), width = m.cache_width();
  kv_.resize(static_cast<size_t>(n * width));
  kernels::matmul(*w.wkv_a, x, n, kv_.data());
  for (int64_t t = 0; t < n; ++t) {
    float* row = &kv_[static_cast<size_t>(t * width)];
    kernels::rmsnorm(row, w.kv_a_norm.data(), m.kv_lora_rank, spec_.norm_eps, row);
    kernels::rope(row + m.kv_lora_rank, m.qk_rope_head_dim, batch.positions[t], inv_freq_.data(), rope_attn_factor_,
                  kernels::RopePairing::kInterleaved);
    cache.store(batch.seq_ids[t], layer, batch.positions[t], row, nullptr);
  }
}

// o_lat_[h][t] = sum_j softmax_j(scale * (q_lat[h][t] . latent_j + q_pe[t, h] . k_pe_j)) latent_j
// over positions j <= pos of the token's own sequence.
//
// All heads read the same cached rows (one latent "K/V head", like MQA), so a chunk of one
// sequence's tokens times all heads forms the rows of two f32 matrix products with those rows:
// scores = Q [rows, kv_lora + rope] . cache^T, then out = P [rows, n_kv] . latent, where the
// matmul kernels' register tiles do the work (a per-score loop here was 80% of a DeepSeek-shape
// prompt). Chunks keep the score matrix bounded on long contexts and cover only the keys their
// last token sees, so a prompt computes about the causal half of the square.
void MlaAttention::attend(int64_t layer, const Batch& batch, const KvCache& cache) {
  const MlaSpec& m = spec_.mla;
  const int64_t n = static_cast<int64_t>(batch.size()), n_heads = spec_.n_heads;
  const int64_t kvl = m.kv_lora_rank, rope = m.qk_rope_head_dim, qk = m.qk_head_dim(), width = m.cache_width();
  o_lat_.resize(static_cast<size_t>(n_heads * n * kvl));

  std::map<int64_t, std::vector<int64_t>> tokens_of_slot;  // batch indices, in batch order
  for (int64_t t = 0; t < n; ++t) tokens_of_slot[batch.seq_ids[t]].push_back(t);
  for (const auto& entry : tokens_of_slot) {
    const int64_t slot = entry.first;
    const std::vector<int64_t>& tokens = entry.second;  // a named reference: lambdas below capture it
    int64_t n_kv_all = 0;
    for (int64_t t : tokens) n_kv_all = std::max<int64_t>(n_kv_all, batch.positions[t] + 1);
    const int64_t chunk = std::clamp<int64_t>(kMlaScoreBudget / (n_heads * n_kv_all), 1, kMlaMaxChunk);
    const float* cached = cache.keys(slot, layer, 0);  // one head: a slot and layer's positions, stride width
    for (size_t c0 = 0; c0 < tokens.size(); c0 += static_cast<size_t>(chunk)) {
      const size_t c1 = std::min(tokens.size(), c0 + static_cast<size_t>(chunk));
      const int64_t rows = static_cast<int64_t>(c1 - c0) * n_heads;
      int64_t n_kv = 0;
      for (size_t i = c0; i < c1; ++i) n_kv = std::max<int64_t>(n_kv, batch.positions[tokens[i]] + 1);

      // Row (token i, head h) = [q_lat | q_pe].
      q_rows_.resize(static_cast<size_t>(rows * width));
      for (size_t i = c0; i < c1; ++i)
        for (int64_t h = 0; h < n_heads; ++h) {
          const int64_t t = tokens[i];
          float* row = &q_rows_[static_cast<size_t>((static_cast<int64_t>(i - c0) * n_heads + h) * width)];
          std::memcpy(row, &q_lat_[static_cast<size_t>((h * n + t) * kvl)], static_cast<size_t>(kvl) * sizeof(float));
          std::memcpy(row + kvl, &q_[static_cast<size_t>((t * n_heads + h) * qk + m.qk_nope_head_dim)],
                      static_cast<size_t>(rope) * sizeof(float));
        }
      scores_.resize(static_cast<size_t>(rows * n_kv));
      kernels::matmul(f32_matrix("MLA cache", cached, n_kv, width), q_rows_.data(), rows, scores_.data());

      // Causal softmax per row; positions past the token's own are zero weights.
      parallel_for(rows, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t visible = batch.positions[tokens[c0 + static_cast<size_t>(r / n_heads)]] + 1;
          float* s = &scores_[static_cast<size_t>(r * n_kv)];
          for (int64_t j = 0; j < visible; ++j) s[j] *= softmax_scale_;
          kernels::softmax(s, visible);
          std::fill(s + visible, s + n_kv, 0.0f);
        }
      });

      // latent^T [kv_lora, n_kv]: the weights of the second product.
      latent_t_.resize(static_cast<size_t>(kvl * n_kv));
      parallel_for((kvl + 15) / 16, [&](int64_t b0, int64_t b1) {
        for (int64_t j = 0; j < n_kv; ++j) {
          const float* src = cached + j * width;
          for (int64_t d = b0 * 16; d < std::min(kvl, b1 * 16); ++d) latent_t_[static_cast<size_t>(d * n_kv + j)] = src[d];
        }
      });
      out_rows_.resize(static_cast<size_t>(rows * kvl));
      kernels::matmul(f32_matrix("MLA latent (transposed)", latent_t_.data(), kvl, n_kv), scores_.data(), rows,
                      out_rows_.data());

      for (size_t i = c0; i < c1; ++i)
        for (int64_t h = 0; h < n_heads; ++h)
          std::memcpy(&o_lat_[static_cast<size_t>((h * n + tokens[i]) * kvl)],
                      &out_rows_[static_cast<size_t>((static_cast<int64_t>(i - c0) * n_heads + h) * kvl)],
                      static_cast<size_t>(kvl) * sizeof(float));
    }
  }
}

void MlaAttention::forward(const MlaWeights& w, int64_t layer, const Batch& batch, KvCache& cache, const float* x,
                           float* out) {
  const MlaSpec& m = spec_.mla;
  const int64_t n = static_cast<int64_t>(batch.size()), n_heads = spec_.n_heads;
  const int64_t nope = m.qk_nope_head_dim, qk = m.qk_head_dim(), kvl = m.kv_lora_rank, vd = m.v_head_dim;
  project_q(w, x, n);
  write_cache(w, layer, batch, cache, x);

  // q_pe: adjacent-pair RoPE on the last qk_rope_head_dim dims of every head.
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < n_heads; ++h)
      kernels::rope(&q_[static_cast<size_t>((t * n_heads + h) * qk + nope)], m.qk_rope_head_dim, batch.positions[t],
                    inv_freq_.data(), rope_attn_factor_, kernels::RopePairing::kInterleaved);

  // Absorb k_b: q_lat_[h] [n, kv_lora] = q_nope[:, h] [n, nope] · k_b[h]^T. The per-head k_b / v_b
  // slices stay in the file's layout (views into one tensor), so prompts pack them on the fly.
  q_lat_.resize(static_cast<size_t>(n_heads * n * kvl));
  head_in_.resize(static_cast<size_t>(n * nope));
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t t = 0; t < n; ++t)
      std::memcpy(&head_in_[static_cast<size_t>(t * nope)], &q_[static_cast<size_t>((t * n_heads + h) * qk)],
                  static_cast<size_t>(nope) * sizeof(float));
    kernels::matmul_packing(w.k_b[static_cast<size_t>(h)], head_in_.data(), n, &q_lat_[static_cast<size_t>(h * n * kvl)]);
  }

  attend(layer, batch, cache);

  // Expand through v_b: attn_[:, h] [n, v_head] = o_lat_[h] · v_b[h]^T; then the output projection.
  attn_.resize(static_cast<size_t>(n * n_heads * vd));
  head_out_.resize(static_cast<size_t>(n * vd));
  for (int64_t h = 0; h < n_heads; ++h) {
    kernels::matmul_packing(w.v_b[static_cast<size_t>(h)], &o_lat_[static_cast<size_t>(h * n * kvl)], n, head_out_.data());
    for (int64_t t = 0; t < n; ++t)
      std::memcpy(&attn_[static_cast<size_t>((t * n_heads + h) * vd)], &head_out_[static_cast<size_t>(t * vd)],
                  static_cast<size_t>(vd) * sizeof(float));
  }
  kernels::matmul(*w.wo, attn_.data(), n, out);
}

}  // namespace kaiyuan
