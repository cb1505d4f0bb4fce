// A model: validated config, the table of expected tensors (canonical name, shape, offset) and one allocation
// holding every weight. Weights are written by inq_model_set_tensor, then frozen by finalize.
#pragma once

#include <atomic>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "device.h"
#include "ops.h"

namespace inq {

struct TensorSlot {
  std::string name;
  int ndim;
  int64_t shape[4];
  int64_t numel;
  size_t offset;  // floats from the start of the weight allocation
  bool set;
};

// One block's weights. GPT-2: Conv1D [in, out] matrices, every bias present. LLAMA: Linear [out, in] matrices;
// attn_w is q_proj | k_proj | v_proj stored back to back (one [C + 2 * KVC, C] matrix, one GEMM), fc_w likewise
// gate_proj | up_proj ([2I, C]); ln*_b are NULL and other biases NULL unless the config asks for them.
struct LayerWeights {
  const float *ln1_w, *ln1_b, *attn_w, *attn_b, *proj_w, *proj_b;
  const float *ln2_w, *ln2_b, *fc_w, *fc_b, *mlp_proj_w, *mlp_proj_b;
};

// One encoder-decoder block's weights (MARIAN, M2M100, T5); Linear [out, in]. self_qkv_w is q | k | v packed
// ([3A, C], one GEMM; A = n_head * head_dim), cross_kv_w is the cross-attention's k | v ([2A, C]); biases packed
// the same way, NULL for T5. Encoder blocks leave cross_* and ln2_* NULL; ln1 / ln2 / ln3 are the norms of the
// self-attention, cross-attention and feed-forward sublayers (T5: layer.0 / layer.1 / last layer_norm; ln*_b NULL).
// fc1_w is fc1 / wi ([I, C]) or, gated (T5 gated-gelu), wi_0 | wi_1 packed ([2I, C]).
struct Seq2SeqLayerWeights {
  const float *self_qkv_w, *self_qkv_b, *self_o_w, *self_o_b, *ln1_w, *ln1_b;
  const float *cross_q_w, *cross_q_b, *cross_kv_w, *cross_kv_b, *cross_o_w, *cross_o_b, *ln2_w, *ln2_b;
  const float *fc1_w, *fc1_b, *fc2_w, *fc2_b, *ln3_w, *ln3_b;
};

// Shapes every part of the graph derives from the config.
inline int kv_heads(const inq_model_config& c) { return c.n_kv_head > 0 ? c.n_kv_head : c.n_head; }
inline int head_dim(const inq_model_config& c) { return c.head_dim > 0 ? c.head_dim : c.n_embd / c.n_head; }
// Width of the attention's q (and of each of k, v) over all heads: n_embd except for T5's d_kv * n_head.
inline int64_t attn_width(const inq_model_config& c) { return (int64_t)c.n_head * head_dim(c); }
inline int64_t kv_width(const inq_model_config& c) { return (int64_t)kv_heads(c) * head_dim(c); }
// Columns of the fused q | k | v projection.
inline int64_t qkv_width(const inq_model_config& c) { return c.n_embd + 2 * kv_width(c); }
// Columns of the MLP's first projection: fc (GPT-2) or gate | up (LLAMA).
inline int64_t mlp_pre_width(const inq_model_config& c) {
  return c.arch == INQ_ARCH_LLAMA ? 2 * (int64_t)c.n_inner : c.n_inner;
}
inline bool uses_rmsnorm(const inq_model_config& c) { return c.arch == INQ_ARCH_LLAMA; }
inline bool is_seq2seq(const inq_model_config& c) {
  return c.arch == INQ_ARCH_MARIAN || c.arch == INQ_ARCH_M2M100 || c.arch == INQ_ARCH_T5;
}
// Encoder-decoder block shapes: pre-norm with final norms (M2M100, T5) or post-norm (MARIAN); RMS norms (T5).
inline bool s2s_pre_norm(const inq_model_config& c) { return c.arch != INQ_ARCH_MARIAN; }
inline bool s2s_rms(const inq_model_config& c) { return c.arch == INQ_ARCH_T5; }
// Columns of an encoder-decoder block's first feed-forward projection.
inline int64_t s2s_ff_width(const inq_model_config& c) { return c.gated_mlp ? 2 * (int64_t)c.n_inner : c.n_inner; }

}  // namespace inq

struct inq_model {
  inq_model_config cfg;
  int device;
  inq::Device* dev = nullptr;  // where the weights live and whose ops the contexts run
  const inq::Ops* ops;
  std::vector<inq::TensorSlot> tensors;
  std::unordered_map<std::string, int> index;
  float* weights = nullptr;  // device memory (host memory on the CPU)
  size_t weight_floats = 0;
  bool finalized = false;
  // One reference for the caller's handle plus one per context: the last release frees the model.
  std::atomic<int> refs{1};

  // Resolved after finalize (wpe, lnf_b NULL for LLAMA).
  const float *wte = nullptr, *wpe = nullptr, *lnf_w = nullptr, *lnf_b = nullptr, *lm_head = nullptr;
  // LLAMA with rope_inv_freq_table: the "rope.inv_freq" tensor [head_dim / 2]; NULL: theta-based frequencies.
  const float* rope_inv_freq = nullptr;
  std::vector<inq::LayerWeights> layers;
  // Encoder-decoder: encoder and decoder blocks (wte is the shared embedding table); MARIAN's final_logits_bias [V];
  // the final encoder / decoder norms (M2M100, T5; b NULL for T5); T5's relative attention bias tables [buckets, H]
  // (block 0 of each stack, shared by all blocks).
  std::vector<inq::Seq2SeqLayerWeights> enc_layers, dec_layers;
  const float* final_logits_bias = nullptr;
  const float *enc_norm_w = nullptr, *enc_norm_b = nullptr, *dec_norm_w = nullptr, *dec_norm_b = nullptr;
  const float *enc_rel_bias = nullptr, *dec_rel_bias = nullptr;

  ~inq_model();
};

namespace inq {

using Model = ::inq_model;

void validate_config(const inq_model_config* cfg);
Model* model_create(const inq_model_config* cfg, int device);
void model_release(Model* m);
void model_set_tensor(Model* m, const char* name, const float* data, const int64_t* shape, int ndim);
void model_finalize(Model* m);

}  // namespace inq
